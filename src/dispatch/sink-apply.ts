import type { Entry } from '../entry.js';
import { traceApply } from '../observability/tracing.js';
import { type Sink, transactionsOf } from './sink.js';
import { SinkResultError, SinkThrewError, SinkTimeoutError } from './sink-errors.js';
import type { Applied, PartitionRef } from './step-types.js';

/**
 * Offers `batch` to the sink, bounded by `timeoutMs` and by `signal` (the dispatcher stopping, the lease
 * lost): both abort the signal the sink gets. Returns what the sink said; a throw or a timeout fails the
 * whole batch, `{ failed }` names the entries that failed.
 *
 * A sink is third-party code, so nothing it does may crash the drain or lose an entry: what it throws that
 * is not an Error becomes a SinkThrewError, a batch still running after `timeoutMs` a SinkTimeoutError, and a
 * result walbox cannot act on (not an object, `failed` not an array, an id that was not offered or named
 * twice) a SinkResultError for the whole batch. The sink gets copies of the entries: whatever it does
 * to them, the dispatcher records the entries it read.
 */
export async function applyToSink(
  sink: Sink,
  ref: PartitionRef,
  batch: readonly Entry[],
  timeoutMs: number,
  signal: AbortSignal,
): Promise<Applied> {
  // One span per apply, continuing the producer's trace (observability/tracing).
  return traceApply(ref, batch, () => applyUntraced(sink, ref, batch, timeoutMs, signal));
}

async function applyUntraced(
  sink: Sink,
  ref: PartitionRef,
  batch: readonly Entry[],
  timeoutMs: number,
  signal: AbortSignal,
): Promise<Applied> {
  const controller = new AbortController();
  const onAbort = () => controller.abort(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  let timer: NodeJS.Timeout | undefined;
  try {
    const result: unknown = await Promise.race([
      sink.apply(Object.freeze(batch.map((e) => ({ ...e }))), {
        ...ref,
        signal: controller.signal,
        transactions: transactionsOf(batch),
      }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const err = new SinkTimeoutError(ref.target, timeoutMs);
          controller.abort(err);
          reject(err);
        }, timeoutMs);
      }),
    ]);
    const failed = failedEntries(result, batch);
    if (typeof failed === 'string') return { ok: false, error: new SinkResultError(ref.target, failed) };
    for (const [id, error] of failed) {
      if (!isError(error)) failed.set(id, new SinkThrewError(ref.target, error, id));
    }
    return { ok: true, failed };
  } catch (error) {
    return { ok: false, error: isError(error) ? error : new SinkThrewError(ref.target, error) };
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
  }
}

/** The failed entries a BatchResult names, by id, or what is wrong with it. */
function failedEntries(result: unknown, batch: readonly Entry[]): Map<string, unknown> | string {
  const failed = new Map<string, unknown>();
  if (result === undefined || result === null) return failed;
  if (typeof result !== 'object') return `a ${typeof result}, not an object`;
  const list = (result as { failed?: unknown }).failed;
  if (list === undefined || list === null) return failed;
  if (!Array.isArray(list)) return '`failed` is not an array';
  const offered = new Set(batch.map((e) => e.id));
  for (const [i, item] of list.entries()) {
    const id = typeof item === 'object' && item !== null ? (item as { id?: unknown }).id : undefined;
    if (typeof id !== 'string') return `failed[${i}] has no string id`;
    if (!offered.has(id)) return `failed[${i}].id ${JSON.stringify(id.slice(0, 40))} was not offered`;
    if (failed.has(id)) return `failed[${i}].id ${id} is named twice`;
    failed.set(id, (item as { error?: unknown }).error);
  }
  return failed;
}

/** `instanceof Error`, false rather than a throw for a revoked proxy. */
function isError(value: unknown): value is Error {
  try {
    return value instanceof Error;
  } catch {
    return false;
  }
}
