import type { Sql } from './sql/context.js';

export interface MaintenanceResult {
  /** Day partitions created ahead. */
  created: number;
  /** Day partitions dropped by retention (the log's, then the inbox's). */
  dropped: string[];
  /** Rows of keys no longer written removed from the key lock table (see docs/ordering.md). */
  keyLocksPruned: number;
}

/**
 * Creates the next week's day partitions of the log and drops the expired ones that every target has
 * passed; the same for the inbox's, dropped after the longest inbox retention; and removes the key lock rows of
 * keys no longer written. Dispatchers run it on a pg-boss schedule; `walbox maintain` runs it by hand.
 */
export async function maintain(sql: Sql, daysAhead = 7): Promise<MaintenanceResult> {
  const { db, schema } = sql;
  const { rows } = await db.query<{ created: number }>(`select ${schema}.ensure_partitions($1) as created`, [
    daysAhead,
  ]);
  const { rows: dropped } = await db.query<{ name: string }>(
    `select name from ${schema}.drop_expired_partitions() as name`,
  );
  const { rows: inbox } = await db.query<{ name: string }>(
    `select name from ${schema}.inbox_partitions($1) as name`,
    [daysAhead],
  );
  const { rows: pruned } = await db.query<{ pruned: number }>(`select ${schema}.prune_key_locks() as pruned`);
  return {
    created: rows[0]!.created,
    dropped: [...dropped, ...inbox].map((r) => r.name),
    keyLocksPruned: pruned[0]!.pruned,
  };
}
