/** What a producer appends. */
export interface EntryInput<P = unknown> {
  namespace: string;
  /** The ordering key: entries of one (namespace, key) are delivered in commit order. */
  key: string;
  /**
   * Routes the entry to the partition of this value instead of its key's, so that entries of related keys
   * (one user's rows across tables) travel through one partition and one source transaction's share of it
   * reaches a sink in one apply call. A key must keep one partition key for as long as it has undelivered
   * entries: entries of one key in two partitions are drained apart, out of order (docs/ordering.md).
   */
  partitionKey?: string;
  /** 'upsert' | 'delete' or any custom verb the sinks understand. */
  op: 'upsert' | 'delete' | (string & {});
  /** Any JSON value; null (or omitted) for deletes. */
  payload?: P;
  /** The before-image, for audit and for sinks that need the old value (e.g. to drop an old index key). */
  before?: unknown;
  headers?: Record<string, unknown>;
  /** Overrides the namespace's default targets. */
  targets?: string[];
  /** Deliver no earlier than `ms` (plus a random 0..jitterMs) after the append, by the database clock. */
  delay?: { ms: number; jitterMs?: number };
  /** Deliver no earlier than this instant. Mutually exclusive with `delay`. */
  deliverAt?: Date;
  /** A second append with the same key in the same namespace returns the first entry instead. */
  idempotencyKey?: string;
  /** Who made the change; defaults to the `walbox.actor` setting of the session, else the database user. */
  actor?: string;
}

/** An entry as stored in the log. Ids are bigints, returned as strings. */
export interface Entry<P = unknown> {
  id: string;
  namespace: string;
  key: string;
  /**
   * The partitionKey it was appended with, null when its key chose the partition (and in a duplicate that
   * append or appendMany return: read it from the log, `walbox.audit`, when it matters).
   */
  partitionKey: string | null;
  partition: number;
  op: string;
  payload: P;
  before: unknown;
  headers: Record<string, unknown>;
  targets: string[];
  deliverAt: Date | null;
  idempotencyKey: string | null;
  /** xid8 of the transaction that appended it. */
  xid: string;
  createdAt: Date;
  actor: string | null;
}

/**
 * What append/appendMany return: the stored entry, and whether it already existed (same idempotency key).
 * For a new entry, `payload`, `before` and `headers` are the values the caller passed (not parsed back from
 * Postgres: a Date stays a Date here, while sinks receive its JSON string); for a duplicate, the stored ones.
 */
export type AppendedEntry<P = unknown> = Entry<P> & { duplicate: boolean };

export interface EntryRow {
  id: string;
  namespace: string;
  key: string;
  partition_key: string | null;
  partition: number;
  op: string;
  payload: unknown;
  before: unknown;
  headers: Record<string, unknown>;
  targets: string[];
  deliver_at: Date | null;
  idempotency_key: string | null;
  xid: string;
  created_at: Date;
  actor: string | null;
}

/**
 * The columns of EntryRow, for `select ${ENTRY_COLUMNS} from entries e`: named rather than `*`, so that a
 * prepared statement keeps its result type when a later migration adds a column to the log.
 */
export const ENTRY_COLUMNS =
  'e.id, e.namespace, e.key, e.partition_key, e.partition, e.op, e.payload, e.before, e.headers, e.targets, e.deliver_at, ' +
  'e.idempotency_key, e.xid, e.created_at, e.actor';

export function entryFromRow<P>(row: EntryRow): Entry<P> {
  return {
    id: row.id,
    namespace: row.namespace,
    key: row.key,
    partitionKey: row.partition_key ?? null,
    partition: row.partition,
    op: row.op,
    payload: row.payload as P,
    before: row.before,
    headers: row.headers,
    targets: row.targets,
    deliverAt: row.deliver_at,
    idempotencyKey: row.idempotency_key,
    xid: row.xid,
    createdAt: row.created_at,
    actor: row.actor,
  };
}
