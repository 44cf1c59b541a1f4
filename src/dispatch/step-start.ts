import { type EntryRow, entryFromRow } from '../entry.js';
import { afterRead, type LogPosition, type ReadResult, readWindowSql } from '../snapshot-reader.js';
import type { Sql } from '../sql/context.js';

export interface StepStart {
  /** The database clock, for delays and backoff. */
  now: Date;
  /** The statement's snapshot: the window's `cur` when a new window opens this step. */
  snap: string;
  /** Entries of this partition are parked: they go first, and the read must make room for them. */
  hasParked: boolean;
  /** The caller still holds the drain lease. */
  held: boolean;
  /** The read of the log, done in the same statement when nothing is parked and the lease is held. */
  read: ReadResult | undefined;
}

interface StartRow extends EntryRow {
  now_: Date;
  snap_: string;
  has_parked_: boolean;
  held_: boolean;
}

/**
 * The first statement of a drain step: the clock, a snapshot, whether anything is parked, whether the lease
 * is still held (a heartbeat that came late must not let two dispatchers offer one partition's entries at
 * once; `owner` null: the caller is sure it holds it, and the cursor row is not read) and, when nothing is
 * parked, the read of the log itself: one statement where a step used to take two.
 *
 * Reading a new window with the statement's own snapshot is exact: pg_current_snapshot() is the snapshot the
 * statement scans with (GetActiveSnapshot), so an entry is visible to the scan exactly when its writer is
 * visible in `snap`. (readBatch takes its snapshot in an earlier statement instead, which it must, as the
 * caller then stores it.)
 */
export async function startStep(
  sql: Sql,
  ref: { namespace: string; target: string; partition: number },
  owner: string | null,
  position: LogPosition,
  limit: number,
): Promise<StepStart> {
  const { db, schema } = sql;
  const { rows } = await db.query<StartRow>(
    `with s as materialized (
       select clock_timestamp() as now_, pg_current_snapshot() as snap_,
              exists (select 1 from ${schema}.parked
                       where namespace = $1 and target = $7 and partition = $2) as has_parked_,
              ($8::text is null
               or exists (select 1 from ${schema}.cursors
                           where namespace = $1 and target = $7 and partition = $2
                             and lease_owner = $8 and lease_until > clock_timestamp())) as held_)
     select s.now_, s.snap_::text as snap_, s.has_parked_, s.held_, r.*
       from s
       left join lateral (
         ${readWindowSql(schema, 'coalesce($4::pg_snapshot, s.snap_)', 's.held_ and not s.has_parked_', position.afterId !== null)}) r on true`,
    [ref.namespace, ref.partition, position.prev, position.cur, position.afterId, limit, ref.target, owner],
    { prepare: true },
  );
  const first = rows[0]!;
  const start: StepStart = {
    now: first.now_,
    snap: first.snap_,
    hasParked: first.has_parked_,
    held: first.held_,
    read: undefined,
  };
  if (start.held && !start.hasParked) {
    const entries = first.id === null ? [] : rows.map((r) => entryFromRow(r));
    start.read = afterRead({ ...position, cur: position.cur ?? start.snap }, entries, limit);
  }
  return start;
}
