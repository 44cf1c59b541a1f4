import type { Entry, EntryRow } from './entry.js';
import { ENTRY_COLUMNS, entryFromRow } from './entry.js';
import type { Sql } from './sql/context.js';

/**
 * A reader's position in one (namespace, partition) of the log, PgQ-style: `prev` is the snapshot taken when
 * the previous window closed; the open window holds every entry whose writer is visible in `cur` but was not
 * in `prev`, read in id order from `afterId`. Snapshots are pg_snapshot text ("xmin:xmax:xip,...").
 */
export interface LogPosition {
  prev: string;
  cur: string | null;
  afterId: string | null;
}

/** The position before the first entry ever written: a snapshot in which no transaction is visible. */
export const LOG_START: LogPosition = Object.freeze({ prev: '1:1:', cur: null, afterId: null });

export interface ReadResult {
  entries: Entry[];
  next: LogPosition;
}

/**
 * Reads the next batch after `position`. Never skips an entry whose transaction committed late (it is
 * in `prev`'s xip list or beyond its xmax, and shows up once visible) and never waits for unrelated open
 * transactions (only visibility in the new snapshot matters, not the global xmin).
 */
export async function readBatch(
  sql: Sql,
  where: { namespace: string; partition: number },
  position: LogPosition,
  limit: number,
  /** Only entries addressed to this target (the window still advances past the others). */
  target?: string,
): Promise<ReadResult> {
  const { db, schema } = sql;
  let cur = position.cur;
  if (cur === null) {
    // Its own statement, before the SELECT: under READ COMMITTED the SELECT's snapshot is then at least as
    // new, so every transaction `cur` calls committed has its rows visible to the SELECT.
    const { rows } = await db.query<{ snap: string }>('select pg_current_snapshot()::text as snap');
    cur = rows[0]!.snap;
  }
  const { rows } = await db.query<EntryRow>(
    readWindowSql(schema, '$4::pg_snapshot', 'true', position.afterId !== null),
    [where.namespace, where.partition, position.prev, cur, position.afterId, limit, target ?? null],
    { prepare: true },
  );
  return afterRead(
    { ...position, cur },
    rows.map((r) => entryFromRow(r)),
    limit,
  );
}

/**
 * The one definition of a window read: the entries of a (namespace, partition) written by a transaction that
 * `prev` did not see and `cur` does, for a target, in id order, at most `limit`; past `after` when continuing
 * a window read up to its limit before, else from its start. Every part is SQL text of the caller's
 * (parameters, or a correlated row's columns, as the work finder's `exists` uses it).
 *
 * Such a writer either started after prev (xid >= xmax(prev)) or was running at prev (its xid is in
 * xip(prev)): two arms, merged in id order.
 * - The new transactions. Opening a window, an index range on (namespace, partition, xid) from xmax(prev) to
 *   xmax(cur) (implied by visibility in cur; written out, it makes the prepared statement's generic plan
 *   estimate the range as the few rows it is), planned apart (`offset 0`) so that the `order by id limit`
 *   cannot turn it into a walk of the day's primary key from its first row (9,107 rows filtered per read,
 *   4.3 ms, growing all day). Continuing a window (after a full read, as in a backlog), a walk of the
 *   primary key from `$5`, which finds the next rows at once.
 * - The transactions running at prev: one index probe per xid (a lateral subquery, kept apart with
 *   `offset 0`, the xid as a one-value range so that the order asked for below is not trivially met). A
 *   single range from xmin(prev) would cover both arms, until a transaction stays open: xmin(prev) then
 *   stays at its xid, and every read scans every row written since (an xid held 60 s at 500
 *   entries/s: 7,950 rows filtered per read, 2.5 ms, against 136 rows read).
 * Both arms ask for the reader index's order (namespace, partition, xid). The statement is prepared, and its
 * generic plan is made once per connection, often while the day's partition is nearly empty: then the key
 * index (namespace, key, id) costs the planner the same, and a plan that walked it, filtering, kept doing so
 * as the partition grew (every step read every entry of the namespace written that day: 200 -> 2,235
 * buffers per step within two minutes in chaos scenario 5). Only the reader index gives that order without
 * a sort, so it wins the tie whatever the statistics (test/dispatch/window-plan.int.test.ts).
 */
export interface WindowSqlParts {
  /** SQL of the namespace, the partition, the `prev` and `cur` snapshots (pg_snapshot) and the row limit. */
  namespace: string;
  partition: string;
  prev: string;
  cur: string;
  limit: string;
  /** A condition on the entry `e` for the target, e.g. `$7::text = any(e.targets)`. */
  target: string;
  /** Continuing a window read up to its limit: the condition on `e.id` past the last entry read; else null. */
  after: string | null;
  /** A condition of the caller's that must hold for any row to be read. */
  guard: string;
}

/**
 * Leaves out the day partitions made ahead of time (ensure_partitions keeps 7 days ready): an entry's
 * created_at is its transaction's start (now()), so no committed entry lies a day ahead of the reader's clock.
 * A stable bound on the partition key prunes them when the executor starts, in a generic plan too: a window
 * read probed 9 partitions per arm and xid (81 buffers with three transactions running at prev), now 3 (33).
 */
const NOT_IN_FUTURE_DAYS = "e.created_at < statement_timestamp() + interval '1 day'";

/**
 * What windowSql and windowHasEntrySql both ask of an entry `e`: in the (namespace, partition), not in a day
 * made ahead, its writer visible in `cur`, addressed to the target.
 */
function windowConditions(w: Omit<WindowSqlParts, 'limit' | 'after'>): { where: string; visible: string } {
  return {
    where: `${w.guard} and e.namespace = ${w.namespace} and e.partition = ${w.partition} and ${NOT_IN_FUTURE_DAYS}`,
    visible: `pg_visible_in_snapshot(e.xid, ${w.cur}) and ${w.target}`,
  };
}

export function windowSql(schema: string, w: WindowSqlParts): string {
  const { where, visible } = windowConditions(w);
  const after = w.after === null ? '' : `and ${w.after}`;
  const newer =
    w.after !== null
      ? `select ${ENTRY_COLUMNS} from ${schema}.entries e
        where ${where} ${after} and e.xid >= pg_snapshot_xmax(${w.prev}) and ${visible}
        order by e.id limit ${w.limit}`
      : `select * from (
         select ${ENTRY_COLUMNS} from ${schema}.entries e
          where ${where} and e.xid >= pg_snapshot_xmax(${w.prev})
            and e.xid < pg_snapshot_xmax(${w.cur}) and ${visible}
          order by e.namespace, e.partition, e.xid
         offset 0) e
        order by e.id limit ${w.limit}`;
  return `select e.* from (
       (${newer})
       union all
       (select ${ENTRY_COLUMNS}
          from pg_snapshot_xip(${w.prev}) as x(xid)
          cross join lateral (
            select * from ${schema}.entries e where ${where} and e.xid >= x.xid and e.xid <= x.xid
             order by e.namespace, e.partition, e.xid offset 0) e
         where ${visible} ${after}
         order by e.id limit ${w.limit})) e
     order by e.id
     limit ${w.limit}`;
}

/**
 * Whether the window holds an entry for the target (the work finder's test of each cursor), as SQL of the
 * parts of windowSql but the limit and `after`. Any entry will do, so neither arm reads in id order: taking
 * windowSql's first row in id order sorted the whole window, 250 ms per cursor and call for a backlog of
 * 37,000 entries in a partition. Each arm asks for the reader index's order, which wins the tie against the
 * key index whatever the statistics (as in windowSql), and stops at its first row; OFFSET 0 keeps the planner
 * from dropping an EXISTS subquery's ORDER BY.
 */
export function windowHasEntrySql(schema: string, w: Omit<WindowSqlParts, 'limit' | 'after'>): string {
  const { where, visible } = windowConditions(w);
  return `(exists (select 1 from ${schema}.entries e
                    where ${where} and e.xid >= pg_snapshot_xmax(${w.prev})
                      and e.xid < pg_snapshot_xmax(${w.cur}) and ${visible}
                    order by e.namespace, e.partition, e.xid
                   offset 0)
           or exists (select 1
                        from pg_snapshot_xip(${w.prev}) as x(xid)
                        cross join lateral (
                          select e.xid, e.targets from ${schema}.entries e
                           where ${where} and e.xid >= x.xid and e.xid <= x.xid
                           order by e.namespace, e.partition, e.xid offset 0) e
                       where ${visible}
                      offset 0))`;
}

/**
 * The window of `readBatch` and the drain step's first statement, over their parameters: `$1` namespace,
 * `$2` partition, `$3` prev, `$5` the last id read (null when opening), `$6` limit, `$7` target or null; `cur`
 * and `guard` are the caller's SQL.
 */
export function readWindowSql(schema: string, cur: string, guard: string, continuing: boolean): string {
  return windowSql(schema, {
    namespace: '$1',
    partition: '$2',
    prev: '$3::pg_snapshot',
    cur,
    limit: '$6',
    target: '($7::text is null or $7::text = any(e.targets))',
    after: continuing ? 'e.id > $5::bigint' : null,
    // Opening a window, $5 is null; said here so that the statement still gives it a type.
    guard: continuing ? guard : `${guard} and $5::bigint is null`,
  });
}

/** Where the next read starts, after reading `entries` of the window `read` (its cur set) up to `limit`. */
export function afterRead(read: LogPosition & { cur: string }, entries: Entry[], limit: number): ReadResult {
  const next: LogPosition =
    entries.length < limit
      ? { prev: read.cur, cur: null, afterId: null }
      : { prev: read.prev, cur: read.cur, afterId: entries[entries.length - 1]!.id };
  return { entries, next };
}
