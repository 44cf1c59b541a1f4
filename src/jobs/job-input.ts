import { MAX_DELAY_MS } from '../entry-encoding.js';
import { InvalidEntryError, PayloadTooLargeError } from '../errors.js';
import { encodeJson } from '../json-value.js';

const MAX_TEXT = 1024;

/** What to schedule. Give `runAt` or `delay` (or neither: due at once). */
export interface ScheduleInput<P = unknown> {
  /** Any JSON value, handed to the handler as `job.payload`. */
  payload?: P;
  /** Run no earlier than this instant (at most a year ahead). */
  runAt?: Date;
  /** Run no earlier than `ms` after now, plus a random 0..jitterMs (spreads a burst), by the database clock. */
  delay?: { ms: number; jitterMs?: number };
  /** Jobs sharing a key run one at a time, in the order they were scheduled. Default: the job is its own key. */
  key?: string;
  /** A second schedule with the same idempotency key in this queue returns the first job instead. */
  idempotencyKey?: string;
}

export function checkRunAt(at: unknown, index: number | undefined): asserts at is Date {
  if (!(at instanceof Date) || Number.isNaN(at.getTime())) {
    throw new InvalidEntryError('DELAY_OUT_OF_RANGE', 'runAt', 'expected a valid Date', index);
  }
  if (at.getTime() - Date.now() > MAX_DELAY_MS) {
    throw new InvalidEntryError('DELAY_OUT_OF_RANGE', 'runAt', 'more than one year ahead', index);
  }
}

/**
 * One element of jobs_schedule's input, validated; nothing is sent if any job is invalid. The payload is
 * held to the queue namespace's maxPayloadBytes, as an entry's would be.
 */
export function encodeJob(
  input: ScheduleInput,
  index: number | undefined,
  limit: { name: string; maxPayloadBytes: number },
): string {
  const fail = (
    code: 'INVALID_ENTRY' | 'DELAY_OUT_OF_RANGE' | 'PAYLOAD_NOT_SERIALIZABLE',
    field: string,
    message: string,
  ) => new InvalidEntryError(code, field, message, index);
  if (typeof input !== 'object' || input === null) throw fail('INVALID_ENTRY', '(job)', 'expected an object');
  const out: Record<string, unknown> = {};
  const payload = encodeJson(input.payload ?? null);
  if (!payload.ok) {
    throw fail(
      'PAYLOAD_NOT_SERIALIZABLE',
      'payload',
      `not JSON-serializable at ${payload.path}: ${payload.reason}`,
    );
  }
  const bytes = Buffer.byteLength(payload.text);
  if (bytes > limit.maxPayloadBytes) {
    throw new PayloadTooLargeError(bytes, limit.maxPayloadBytes, limit.name, index);
  }
  if (input.runAt !== undefined && input.delay !== undefined) {
    throw fail('DELAY_OUT_OF_RANGE', 'delay', 'give either runAt or delay, not both');
  }
  if (input.runAt !== undefined) {
    checkRunAt(input.runAt, index);
    out.run_at = input.runAt.toISOString();
  }
  if (input.delay !== undefined) {
    if (typeof input.delay !== 'object' || input.delay === null) {
      throw fail('DELAY_OUT_OF_RANGE', 'delay', 'expected { ms, jitterMs? }');
    }
    const { ms, jitterMs = 0 } = input.delay;
    for (const [field, v] of [
      ['delay.ms', ms],
      ['delay.jitterMs', jitterMs],
    ] as const) {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_DELAY_MS) {
        throw fail(
          'DELAY_OUT_OF_RANGE',
          field,
          `expected an integer from 0 to ${MAX_DELAY_MS} (one year), got ${v}`,
        );
      }
    }
    if (ms + jitterMs > MAX_DELAY_MS)
      throw fail('DELAY_OUT_OF_RANGE', 'delay', 'ms + jitterMs exceeds one year');
    out.delay_ms = ms;
    out.jitter_ms = jitterMs;
  }
  for (const [field, column] of [
    ['key', 'key'],
    ['idempotencyKey', 'idempotency_key'],
  ] as const) {
    const v = input[field];
    if (v === undefined) continue;
    if (typeof v !== 'string' || v === '' || v.length > MAX_TEXT || v.includes('\u0000')) {
      throw fail('INVALID_ENTRY', field, `expected a string of 1-${MAX_TEXT} characters without NUL`);
    }
    out[column] = v;
  }
  const rest = JSON.stringify(out);
  return `{"payload":${payload.text}${rest === '{}' ? '' : `,${rest.slice(1, -1)}`}}`;
}

/** A job id: a bigint as a string. */
export function parseId(id: unknown): string {
  if (typeof id !== 'string' || !/^\d{1,19}$/.test(id)) {
    throw new InvalidEntryError('INVALID_ENTRY', 'id', 'expected a job id (a string of digits)');
  }
  return id;
}
