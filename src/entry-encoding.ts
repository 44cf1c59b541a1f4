import type { EntryInput } from './entry.js';
import { EntryTooLargeError, InvalidEntryError } from './errors.js';
import { encodeJson, MAX_JSON_DEPTH, unstorableText } from './json-value.js';
import { LOGICAL_NAME } from './names.js';
import type { NamespaceConfig } from './namespace-config.js';

/** Longest delay accepted: one year. Longer is almost certainly a unit mistake (seconds vs ms). */
export const MAX_DELAY_MS = 366 * 24 * 3600 * 1000;

/**
 * The ceilings the SQL append path enforces as constants (sql/functions/entry_fault.sql): an SDK may be
 * configured stricter, never looser, or Postgres would refuse an entry the SDK let through and abort the
 * caller's transaction. Keys and idempotency keys sit in btree indexes (entries_key_idx, the idempotency
 * primary key), whose rows must fit a third of a page (2,704 bytes): 512 bytes leaves ample margin.
 */
export const ENTRY_CEILINGS = Object.freeze({
  keyBytes: 512,
  idempotencyKeyBytes: 512,
  opBytes: 64,
  actorBytes: 1024,
  jsonDepth: MAX_JSON_DEPTH,
  delayMs: MAX_DELAY_MS,
});

/** What a Walbox accepts on its append path (the `limits` option; see walbox-config.ts). */
export interface EntryLimits {
  /** UTF-8 bytes of an entry's key. */
  readonly maxKeyBytes: number;
  /** UTF-8 bytes of an idempotency key. */
  readonly maxIdempotencyKeyBytes: number;
  /** Arrays and objects nested in a payload, before-image or headers. */
  readonly maxJsonDepth: number;
  /** Longest delay (ms + jitterMs), and how far from now a deliverAt may be, either way. */
  readonly maxDelayMs: number;
  /** Entries in one appendMany. */
  readonly maxBatchEntries: number;
  /** UTF-8 bytes of one appendMany's encoded entries. */
  readonly maxBatchBytes: number;
}

export const DEFAULT_ENTRY_LIMITS: EntryLimits = Object.freeze({
  maxKeyBytes: ENTRY_CEILINGS.keyBytes,
  maxIdempotencyKeyBytes: ENTRY_CEILINGS.idempotencyKeyBytes,
  maxJsonDepth: ENTRY_CEILINGS.jsonDepth,
  maxDelayMs: ENTRY_CEILINGS.delayMs,
  maxBatchEntries: 50_000,
  maxBatchBytes: 64 * 1024 * 1024,
});

type Code = ConstructorParameters<typeof InvalidEntryError>[0];

/**
 * Validates one entry against its namespace and the limits, and encodes it as an element of append_json's
 * input. Throws a typed error before anything reaches Postgres, so the caller's transaction stays usable:
 * every check the SQL side makes (entry_fault) is made here first, at least as strictly.
 */
export function encodeEntry(
  entry: EntryInput,
  ns: NamespaceConfig,
  index?: number,
  limits: EntryLimits = DEFAULT_ENTRY_LIMITS,
): string {
  const fail = (code: Code, field: string, message: string) =>
    new InvalidEntryError(code, field, message, index);
  const sizes: Record<string, number> = {};

  if (entry.key === undefined || entry.key === null || entry.key === '') {
    throw fail('MISSING_KEY', 'key', 'every entry needs a non-empty string key (its ordering key)');
  }
  if (typeof entry.key !== 'string')
    throw fail('INVALID_ENTRY', 'key', `expected a string, got ${typeof entry.key}`);
  const key = text(entry.key, 'key', limits.maxKeyBytes);
  if (typeof entry.op !== 'string' || entry.op === '') {
    throw fail('INVALID_ENTRY', 'op', "expected 'upsert', 'delete' or a custom verb");
  }
  const op = text(entry.op, 'op', ENTRY_CEILINGS.opBytes);

  const payload = json(entry.payload ?? null, 'payload');
  let wire = `{"namespace":${JSON.stringify(ns.name)},"key":${key},"op":${op},"payload":${payload}`;
  if (entry.partitionKey !== undefined) {
    wire += `,"partition_key":${text(entry.partitionKey, 'partitionKey', limits.maxKeyBytes)}`;
    delete sizes.partitionKey; // limited like a key, and not part of maxPayloadBytes (as in entry_fault)
  }
  if (entry.before !== undefined) wire += `,"before":${json(entry.before, 'before')}`;
  if (entry.headers !== undefined) {
    if (typeof entry.headers !== 'object' || entry.headers === null || Array.isArray(entry.headers)) {
      throw fail('INVALID_ENTRY', 'headers', 'expected an object');
    }
    wire += `,"headers":${json(entry.headers, 'headers')}`;
  }
  if (entry.targets !== undefined) {
    if (
      !Array.isArray(entry.targets) ||
      entry.targets.some((t) => typeof t !== 'string' || !LOGICAL_NAME.test(t))
    ) {
      throw fail(
        'INVALID_ENTRY',
        'targets',
        'expected an array of target names (lower-case letters, digits, _ . -)',
      );
    }
    const stray = entry.targets.find((t) => !ns.targets.includes(t));
    if (stray !== undefined) {
      // Dispatchers keep cursors for the targets a namespace declares; an entry may only narrow them.
      throw fail('INVALID_ENTRY', 'targets', `"${stray}" is not a target of namespace "${ns.name}"`);
    }
    wire += `,"targets":${JSON.stringify(entry.targets)}`;
  }
  wire += encodeDelay(entry, limits.maxDelayMs, fail);
  if (entry.idempotencyKey !== undefined) {
    wire += `,"idempotency_key":${text(entry.idempotencyKey, 'idempotencyKey', limits.maxIdempotencyKeyBytes)}`;
  }
  if (entry.actor !== undefined) {
    wire += `,"actor":${text(entry.actor, 'actor', ENTRY_CEILINGS.actorBytes)}`;
  }

  // The whole entry counts against maxPayloadBytes, as entry_fault counts it in SQL.
  let bytes = 0;
  for (const n of Object.values(sizes)) bytes += n;
  if (bytes > ns.maxPayloadBytes) {
    throw new EntryTooLargeError(bytes, ns.maxPayloadBytes, ns.name, sizes, index);
  }
  return `${wire}}`;

  function json(value: unknown, field: string): string {
    const encoded = encodeJson(value, limits.maxJsonDepth);
    if (!encoded.ok) {
      if (encoded.kind === 'unstorable') {
        throw fail('INVALID_ENTRY', field, `not storable at ${encoded.path}: ${encoded.reason}`);
      }
      throw fail(
        'PAYLOAD_NOT_SERIALIZABLE',
        field,
        `not JSON-serializable at ${encoded.path}: ${encoded.reason}`,
      );
    }
    // JSON null arrives in SQL as a null field, which counts 0 bytes there.
    sizes[field] = encoded.text === 'null' ? 0 : Buffer.byteLength(encoded.text);
    return encoded.text;
  }
  /** A string field as JSON, checked for what Postgres text cannot hold and for its size in bytes. */
  function text(value: unknown, field: string, maxBytes: number): string {
    if (typeof value !== 'string' || value === '') {
      throw fail('INVALID_ENTRY', field, `expected a non-empty string of at most ${maxBytes} bytes`);
    }
    const why = unstorableText(value);
    if (why) throw fail('INVALID_ENTRY', field, why);
    const bytes = Buffer.byteLength(value);
    if (bytes > maxBytes) {
      throw fail('INVALID_ENTRY', field, `is ${bytes} bytes of UTF-8, over the limit of ${maxBytes} bytes`);
    }
    sizes[field] = bytes;
    return JSON.stringify(value);
  }
}

/** `delay` or `deliverAt` as fields of append_json's input, or '' for neither. */
function encodeDelay(
  entry: EntryInput,
  maxDelayMs: number,
  fail: (code: Code, field: string, message: string) => InvalidEntryError,
): string {
  if (entry.delay !== undefined && entry.deliverAt !== undefined) {
    throw fail('DELAY_OUT_OF_RANGE', 'delay', 'give either delay or deliverAt, not both');
  }
  if (entry.delay !== undefined) {
    // Checked before destructuring: `delay: null` from untyped callers must be a typed error, not a TypeError.
    if (typeof entry.delay !== 'object' || entry.delay === null) {
      throw fail('DELAY_OUT_OF_RANGE', 'delay', 'expected { ms, jitterMs? }');
    }
    const { ms, jitterMs = 0 } = entry.delay;
    for (const [field, v] of [
      ['delay.ms', ms],
      ['delay.jitterMs', jitterMs],
    ] as const) {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > maxDelayMs) {
        throw fail('DELAY_OUT_OF_RANGE', field, `expected an integer from 0 to ${maxDelayMs}, got ${v}`);
      }
    }
    if (ms + jitterMs > maxDelayMs) {
      throw fail('DELAY_OUT_OF_RANGE', 'delay', `ms + jitterMs exceeds the limit of ${maxDelayMs} ms`);
    }
    return `,"delay_ms":${ms},"jitter_ms":${jitterMs}`;
  }
  if (entry.deliverAt !== undefined) {
    const at = entry.deliverAt;
    if (!(at instanceof Date) || Number.isNaN(at.getTime())) {
      throw fail('DELAY_OUT_OF_RANGE', 'deliverAt', 'expected a valid Date');
    }
    // Either way: a date years away is a unit mistake (seconds taken for ms gives 1970), and dates far out
    // of range are refused by Postgres's timestamptz.
    const away = at.getTime() - Date.now();
    if (Math.abs(away) > maxDelayMs) {
      throw fail(
        'DELAY_OUT_OF_RANGE',
        'deliverAt',
        `${at.toISOString()} is more than ${maxDelayMs} ms ${away > 0 ? 'ahead' : 'in the past'}`,
      );
    }
    return `,"deliver_at":${JSON.stringify(at.toISOString())}`;
  }
  return '';
}
