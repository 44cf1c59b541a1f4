import { ENTRY_COLUMNS, type EntryRow, entryFromRow } from '../entry.js';
import { LeaseLostError } from '../errors.js';
import { readBatch } from '../snapshot-reader.js';
import type { Sql } from '../sql/context.js';
import { dueHeadKeysSql } from '../sql/parked-heads.js';
import { offerParked } from './step-judge.js';
import { startStep } from './step-start.js';
import type { CursorState, Gathered, ParkedEntry, PartitionRef } from './step-types.js';
import { completeTransactions } from './whole-transactions.js';

interface ParkedRow extends EntryRow {
  attempts: number;
  first_failed_at: Date | null;
  due: boolean;
}

/**
 * The reads of one drain step, before any decision: the clock and the lease (with the read of the log in the
 * same statement when nothing is parked), the parked entries of keys whose head is due, the next window of
 * the log (as much as the due parked entries leave room for), and how many entries of each key read are
 * parked. Throws LeaseLostError, having read nothing, when the lease lapsed.
 */
export async function gatherStep(
  sql: Sql,
  ref: PartitionRef,
  owner: string | null,
  cursor: CursorState,
  limit: number,
): Promise<Gathered> {
  // The clock, a snapshot, the lease check and, when nothing is parked, the read itself: one statement.
  const { db, schema } = sql;
  const first = await startStep(sql, ref, owner, cursor.position, limit);
  if (!first.held) throw new LeaseLostError(ref);
  const { now, hasParked } = first;
  const parked = hasParked ? await readParked(sql, ref, now, limit) : [];
  const room = limit - offerParked(parked).deliver.length;
  const start = { ...cursor.position, cur: cursor.position.cur ?? first.snap };
  let read = room <= 0 ? undefined : (first.read ?? (await readBatch(sql, ref, start, room, ref.target)));
  // A probe offers one entry alone, by design; any other batch holds its source transactions whole.
  if (read && cursor.probeUntilId === null) read = await completeTransactions(sql, ref, read);
  const parkedPerKey = new Map<string, number>();
  const keys = [...new Set(read?.entries.map((e) => e.key))];
  if (hasParked && keys.length > 0) {
    const { rows } = await db.query<{ key: string; n: number }>(
      `select key, count(*)::int as n from ${schema}.parked
        where namespace = $1 and target = $2 and partition = $3 and key = any($4::text[])
        group by key`,
      [ref.namespace, ref.target, ref.partition, keys],
      { prepare: true },
    );
    for (const r of rows) parkedPerKey.set(r.key, r.n);
  }
  return { now, hasParked, parked, read, parkedPerKey };
}

/**
 * The parked entries of keys whose head is due and not blocked, in id order, at most `limit`, from the
 * `limit` heads due soonest (each key offers its head first, so no more keys can be offered). The heads are
 * computed once, as an array: written as `p.key in (select ...)`, stale statistics on a parked table that had
 * just grown made the planner pick a nested loop recomputing every head per parked row (44.8 s for 4,112
 * rows, 77 ms after ANALYZE; measured with 100,000 delayed jobs, bench:jobs).
 */
async function readParked(sql: Sql, ref: PartitionRef, now: Date, limit: number): Promise<ParkedEntry[]> {
  const { db, schema } = sql;
  const { rows } = await db.query<ParkedRow>(
    `select ${ENTRY_COLUMNS}, p.attempts, p.first_failed_at, (p.not_before is null or p.not_before <= $4) as due
       from ${schema}.parked p
       join ${schema}.entries e on e.id = p.entry_id
      where p.namespace = $1 and p.target = $2 and p.partition = $3
        and p.key = any(array(${dueHeadKeysSql(schema, '$1', '$2', '$3', '$4', '$5')}))
      order by p.entry_id
      limit $5`,
    [ref.namespace, ref.target, ref.partition, now, limit],
    { prepare: true },
  );
  return rows.map((r) => ({
    entry: entryFromRow(r),
    attempts: r.attempts,
    firstFailedAt: r.first_failed_at,
    due: r.due,
  }));
}
