import type { FailedEntry, SinkEntry } from './sink-types.js';

/** How a publish that threw is taken: it failed its entry, or it says nothing about the entry. */
export type PublishErrorKind = 'entry' | 'batch';

export interface PublishPerKeyOptions<E> {
  /** Publishes one entry and resolves once the broker acknowledged it. */
  publish: (entry: E) => Promise<void>;
  /**
   * 'entry': the broker refused this entry (it and the later entries of its key fail, other keys go on);
   * 'batch': the outcome is unknown (connection lost, no ack in time): the whole batch is thrown.
   */
  classify: (error: unknown) => PublishErrorKind;
  /** Keys published at the same time. */
  concurrency: number;
  signal?: AbortSignal | undefined;
}

/**
 * Publishes each (namespace, key)'s entries one after the other, the next only once the broker acknowledged
 * the previous one, and different keys concurrently. Waiting per key is what keeps a key's order when a
 * publish fails: pipelined, a refused entry could be followed by an accepted later one of its key.
 *
 * Returns the entries that failed: the first refused entry of a key and every later entry of that key in
 * the batch (never published). Throws the first 'batch' error (or the abort reason) once the publishes in
 * flight have settled, so that a retried batch never overlaps the one it replaces.
 */
export async function publishPerKey<E extends SinkEntry>(
  batch: readonly E[],
  options: PublishPerKeyOptions<E>,
): Promise<FailedEntry[]> {
  const keys = new Map<string, E[]>();
  for (const e of batch) {
    const k = `${e.namespace}\u0000${e.key}`;
    const list = keys.get(k);
    if (list) list.push(e);
    else keys.set(k, [e]);
  }
  const queue = [...keys.values()];
  const failed: FailedEntry[] = [];
  let stop: { error: unknown } | undefined;
  const stopOnAbort = () => {
    stop ??= { error: options.signal?.reason };
  };
  options.signal?.addEventListener('abort', stopOnAbort, { once: true });
  if (options.signal?.aborted) stopOnAbort();

  const drainKey = async (entries: E[]) => {
    for (const [i, e] of entries.entries()) {
      if (stop) return;
      try {
        await options.publish(e);
      } catch (error) {
        if (options.classify(error) === 'batch') {
          stop ??= { error };
          return;
        }
        failed.push({ id: e.id, error });
        const cause = `not published: entry ${e.id} of its key failed before it`;
        for (const later of entries.slice(i + 1)) failed.push({ id: later.id, error: new Error(cause) });
        return;
      }
    }
  };
  const worker = async () => {
    for (let entries = queue.shift(); entries && !stop; entries = queue.shift()) await drainKey(entries);
  };
  try {
    await Promise.all(Array.from({ length: Math.min(options.concurrency, queue.length) }, worker));
  } finally {
    options.signal?.removeEventListener('abort', stopOnAbort);
  }
  if (stop) throw stop.error;
  return failed;
}
