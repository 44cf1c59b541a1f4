// Structural copies of walbox's Entry, SinkContext, BatchResult and Sink (src/entry.ts, src/dispatch/sink.ts),
// so that a sink package needs no walbox import: a walbox Entry is a SinkEntry, and a Sink built on these
// types is accepted by `walbox.dispatcher({ sinks })` (test/sink-types.test.ts checks both directions).

/**
 * An entry as a sink receives it. The fields every sink reads are required; the others are optional so
 * that tests and callers outside a dispatcher can pass small entries.
 */
export interface SinkEntry<P = unknown> {
  /** A Postgres bigint in decimal: grows per (namespace, key), so it serves as the version. */
  id: string;
  namespace: string;
  key: string;
  /** 'upsert', 'delete' or a custom verb. */
  op: string;
  payload: P;
  partition?: number;
  before?: unknown;
  headers?: Record<string, unknown>;
  targets?: string[];
  deliverAt?: Date | null;
  idempotencyKey?: string | null;
  /** xid8 of the source transaction that appended the entry: equal xids are one source transaction. */
  xid?: string;
  createdAt?: Date;
  actor?: string | null;
}

/** Where a batch comes from. */
export interface SinkContext {
  namespace: string;
  target: string;
  partition: number;
  /** Aborted when the dispatcher stops or the apply times out; a sink may stop early, nothing is lost. */
  signal: AbortSignal;
}

/** An entry that failed, and why. */
export interface FailedEntry {
  id: string;
  error: unknown;
}

/** Optional result of `apply`: the entries that failed. Every entry not named here counts as applied. */
export interface BatchResult {
  failed?: ReadonlyArray<FailedEntry>;
}

/**
 * A target: `apply` gets entries of one (namespace, target, partition) in log order. Delivery is at least
 * once, so apply must be idempotent (a version guard: refuse an entry whose id is not above the stored one).
 * Throwing fails the whole batch (retried with backoff); `{ failed }` fails only the entries named, and once
 * an entry of a key fails no later entry of that key in the batch may be applied.
 */
export interface Sink<E extends SinkEntry = SinkEntry> {
  readonly name: string;
  apply(batch: readonly E[], ctx?: SinkContext): Promise<void | BatchResult>;
  close?(): Promise<void>;
}
