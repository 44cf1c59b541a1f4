import type pg from 'pg';
import { InvalidConfigError } from './errors.js';
import { type Queryable, toQueryable } from './executor.js';

/** Options of an operator action that may touch many rows (replay, redrive, discard). */
export interface ChunkedOptions {
  /** Rows per statement (default 10,000, at most 100,000); all of them commit together at the end. */
  chunkSize?: number;
  /** Called after every chunk: rows gone through so far, and how many the selection held at the start. */
  onProgress?: (done: number, total: number) => void;
}

/** What a chunked action needs of the pool: one connection for its transaction. */
export interface Connecting {
  connect(): Promise<pg.PoolClient>;
}

const DEFAULT_CHUNK = 10_000;
const MAX_CHUNK = 100_000;

export function chunkSize(value: number | undefined): number {
  const n = value ?? DEFAULT_CHUNK;
  if (!Number.isInteger(n) || n < 1 || n > MAX_CHUNK) {
    throw new InvalidConfigError('chunkSize', `must be an integer from 1 to ${MAX_CHUNK}, got ${n}`);
  }
  return n;
}

/**
 * Runs `fn` in one transaction on a connection of its own. The chunks of an action commit together, so that
 * a dispatcher never sees half of it: a replayed key's later entries could otherwise be delivered (and
 * removed from `parked`) before its earlier ones are queued. NOTIFY is sent at commit, once per payload.
 */
export async function inTransaction<T>(pool: Connecting, fn: (db: Queryable) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  const onError = () => {}; // the failing query rejects too; this keeps the process alive
  client.on('error', onError);
  try {
    const db = toQueryable(client);
    await db.query('begin isolation level read committed');
    try {
      const result = await fn(db);
      await db.query('commit');
      return result;
    } catch (err) {
      await db.query('rollback').catch(() => {});
      throw err;
    }
  } finally {
    client.off('error', onError);
    client.release();
  }
}
