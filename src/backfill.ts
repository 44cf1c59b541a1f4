import type pg from 'pg';
import { InvalidConfigError } from './errors.js';
import { toQueryable } from './executor.js';
import { assertIdentifier, assertLogicalName, quoteQualified } from './names.js';
import type { Sql } from './sql/context.js';

export interface BackfillProgress {
  table: string;
  namespace: string;
  rowsDone: number;
  /** Rows the table held when the backfill started (an exact count, taken once). */
  rowsTotal: number;
  done: boolean;
}

export interface BackfillOptions {
  /** Rows per chunk, each appended and committed in a transaction of its own (default 1,000). */
  chunkSize?: number;
  /** Called after every chunk. */
  onProgress?: (progress: BackfillProgress) => void;
}

export interface BackfillTarget {
  namespace: string;
  keyColumn: string;
}

const DEFAULT_CHUNK = 1000;
const MAX_CHUNK = 100_000;

/**
 * Appends every existing row of `table` to `namespace` as an 'upsert' entry keyed by `keyColumn`, in chunks
 * of `chunkSize` rows in key order, each in a transaction of its own (sql/functions/backfill_chunk.sql says
 * why a backfilled row never overwrites a newer captured change). The capture trigger must already be on the
 * table, so that every change after a chunk's read is captured. Progress is kept in `<schema>.backfills`:
 * run it again after a crash and it resumes after the last committed chunk; run it after it finished and it
 * starts over (a full copy again, harmless under the version guard).
 */
export async function backfill(
  sql: Sql,
  pool: pg.Pool,
  table: string,
  target: BackfillTarget,
  options: BackfillOptions = {},
): Promise<BackfillProgress> {
  const qualified = quoteQualified('table', table);
  assertLogicalName('namespace', target.namespace);
  assertIdentifier('column', target.keyColumn);
  const chunk = options.chunkSize ?? DEFAULT_CHUNK;
  if (!Number.isInteger(chunk) || chunk < 1 || chunk > MAX_CHUNK) {
    throw new InvalidConfigError(
      'backfill.chunkSize',
      `must be an integer from 1 to ${MAX_CHUNK}, got ${chunk}`,
    );
  }
  const q = sql.schema;
  const db = sql.db;
  const { rows: started } = await db.query<{
    last_key: string | null;
    rows_done: string;
    rows_total: string;
  }>(
    `with total as (select count(*) as n from ${qualified})
     insert into ${q}.backfills as b (table_name, namespace, key_column, rows_total)
     select $1::regclass::text, $2, $3, total.n from total
     on conflict (table_name, namespace) do update
        set key_column = excluded.key_column, updated_at = now(),
            -- finished: start over; else resume where the last committed chunk ended
            last_key = case when b.finished_at is null then b.last_key end,
            rows_done = case when b.finished_at is null then b.rows_done else 0 end,
            rows_total = case when b.finished_at is null then b.rows_total else excluded.rows_total end,
            started_at = case when b.finished_at is null then b.started_at else now() end,
            finished_at = null
     returning b.last_key, b.rows_done, b.rows_total`,
    [qualified, target.namespace, target.keyColumn],
  );
  let after = started[0]!.last_key;
  const progress: BackfillProgress = {
    table,
    namespace: target.namespace,
    rowsDone: Number(started[0]!.rows_done),
    rowsTotal: Number(started[0]!.rows_total),
    done: false,
  };
  const client = await pool.connect();
  const onError = () => {};
  client.on('error', onError); // the failing query rejects too; this keeps the process alive
  try {
    const conn = toQueryable(client);
    for (;;) {
      await conn.query('begin isolation level read committed');
      let result: { rows_appended: number; last_key: string | null };
      try {
        const { rows } = await conn.query<{ rows_appended: number; last_key: string | null }>(
          `select * from ${q}.backfill_chunk($1::regclass, $2, $3, $4, $5)`,
          [qualified, target.namespace, target.keyColumn, after, chunk],
        );
        await conn.query('commit');
        result = rows[0]!;
      } catch (err) {
        await conn.query('rollback').catch(() => {});
        throw err;
      }
      progress.rowsDone += result.rows_appended;
      after = result.last_key;
      progress.done = after === null;
      options.onProgress?.({ ...progress });
      if (progress.done) return progress;
    }
  } finally {
    client.off('error', onError);
    client.release();
  }
}
