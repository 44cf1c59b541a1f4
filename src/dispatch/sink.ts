import type { Entry } from '../entry.js';

/** Where a batch comes from. */
export interface SinkContext {
  namespace: string;
  target: string;
  partition: number;
  /** Aborted when the dispatcher stops or the apply times out; a sink may stop early, nothing is lost. */
  signal: AbortSignal;
  /**
   * The source transactions in the batch, in the order of their first entry, each with the ids of its entries
   * here (entries of concurrent transactions interleave in log order). A source transaction's entries for this
   * (namespace, target, partition) arrive in one batch, so a sink that applies a batch atomically never shows
   * half of one; the exceptions are an entry that waits behind an earlier entry of its key (a retry, a delay,
   * a blocked key) and a failing batch probed one entry at a time.
   */
  transactions?: ReadonlyArray<{ xid: string; entryIds: readonly string[] }>;
}

/** Optional result of `apply`: the entries that failed. Every entry not named here counts as applied. */
export interface BatchResult {
  failed?: ReadonlyArray<{ id: string; error: unknown }>;
}

/**
 * A target plugin. `apply` gets entries of one (namespace, target, partition) in log order.
 *
 * - Delivery is at least once: make `apply` idempotent. Each entry's `id` grows per key, so store the id
 *   last applied for a key and refuse older ones (a version guard).
 * - Throwing fails the whole batch: the dispatcher retries it with backoff, nothing moves past it.
 * - To fail only some entries, return `{ failed }`. Once an entry of a key fails, do not apply later
 *   entries of that key in the same batch; the dispatcher re-delivers them after the failed one.
 */
export interface Sink {
  readonly name: string;
  apply(batch: readonly Entry[], ctx: SinkContext): Promise<void | BatchResult>;
  close?(): Promise<void>;
}

/** The source transactions of a batch, as SinkContext.transactions lists them. */
export function transactionsOf(batch: readonly Entry[]): Array<{ xid: string; entryIds: string[] }> {
  const byXid = new Map<string, string[]>();
  for (const e of batch) {
    const ids = byXid.get(e.xid);
    if (ids) ids.push(e.id);
    else byXid.set(e.xid, [e.id]);
  }
  return [...byXid].map(([xid, entryIds]) => ({ xid, entryIds }));
}

/** A sink that calls an in-process function for each batch (callbacks, delayed jobs, tests). */
export function functionSink(
  name: string,
  fn: (batch: readonly Entry[], ctx: SinkContext) => Promise<void | BatchResult> | void | BatchResult,
): Sink {
  return { name, apply: async (batch, ctx) => fn(batch, ctx) };
}
