import { WalboxError } from '../errors.js';

/**
 * How a sink broke its contract: it threw something that is not an Error (`SINK_THREW`), did not finish a
 * batch within applyTimeoutMs (`SINK_TIMEOUT`), or returned a BatchResult walbox cannot act on
 * (`SINK_BAD_RESULT`). Each fails the batch like a thrown Error: retried with backoff, then probed entry by
 * entry, so an entry the sink keeps failing on is dead-lettered and the others go on.
 */
export type SinkErrorCode = 'SINK_THREW' | 'SINK_TIMEOUT' | 'SINK_BAD_RESULT';

/** A sink threw (or failed an entry with) a value that is not an Error: a string, undefined, an object... */
export class SinkThrewError extends WalboxError {
  constructor(
    readonly target: string,
    /** What the sink threw, as it threw it. */
    readonly thrown: unknown,
    /** Set when the value came as one entry's error in a BatchResult rather than thrown. */
    readonly entryId?: string,
  ) {
    const how = entryId === undefined ? 'threw' : `failed entry ${entryId} with`;
    super('SINK_THREW', `sink "${target}" ${how} a non-Error value: ${describeValue(thrown)}`);
  }
}

export class SinkTimeoutError extends WalboxError {
  constructor(
    readonly target: string,
    readonly timeoutMs: number,
  ) {
    super('SINK_TIMEOUT', `sink "${target}" did not finish a batch within ${timeoutMs} ms`);
  }
}

/** The BatchResult named entries that were not offered, twice, or was not a BatchResult at all. */
export class SinkResultError extends WalboxError {
  constructor(
    readonly target: string,
    problem: string,
  ) {
    super(
      'SINK_BAD_RESULT',
      `sink "${target}" returned a malformed BatchResult (${problem}): the whole batch counts as failed`,
    );
  }
}

const MAX_DESCRIPTION = 4000;

/**
 * A one-line description of anything a sink may throw, that never throws itself: an Error's name and
 * message, a string as is, other values as JSON where they have one, else their type. Revoked proxies,
 * throwing getters and toString methods, cycles and BigInts are all described rather than rethrown.
 */
export function describeValue(value: unknown): string {
  let text: string;
  try {
    if (value instanceof Error) text = `${value.name}: ${value.message}`;
    else if (typeof value === 'string') text = JSON.stringify(value);
    else if (value === undefined || typeof value === 'function' || typeof value === 'symbol')
      text = typeof value === 'symbol' ? value.toString() : String(value);
    else if (typeof value === 'bigint') text = `${value}n`;
    else text = JSON.stringify(value) ?? Object.prototype.toString.call(value);
  } catch {
    try {
      text = Object.prototype.toString.call(value);
    } catch {
      text = `(a ${typeof value} that cannot be described)`;
    }
  }
  return text.length > MAX_DESCRIPTION ? `${text.slice(0, MAX_DESCRIPTION - 1)}…` : text;
}
