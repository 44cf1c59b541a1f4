import { ENTRY_COLUMNS, entryFromRow } from './entry.js';
/** The position before the first entry ever written: a snapshot in which no transaction is visible. */
export const LOG_START = Object.freeze({ prev: '1:1:', cur: null, afterId: null });
/**
 * Reads the next batch after `position`. Never skips an entry whose transaction committed late (it is
 * in `prev`'s xip list or beyond its xmax, and shows up once visible) and never waits for unrelated open
 * transactions (only visibility in the new snapshot matters, not the global xmin).
 */
export async function readBatch(sql, where, position, limit, 
/** Only entries addressed to this target (the window still advances past the others). */
target) {
    const { db, schema } = sql;
    let cur = position.cur;
    if (cur === null) {
        // Its own statement, before the SELECT: under READ COMMITTED the SELECT's snapshot is then at least as
        // new, so every transaction `cur` calls committed has its rows visible to the SELECT.
        const { rows } = await db.query('select pg_current_snapshot()::text as snap');
        cur = rows[0].snap;
    }
    const { rows } = await db.query(windowSql(schema, '$4::pg_snapshot', 'true', position.afterId !== null), [where.namespace, where.partition, position.prev, cur, position.afterId, limit, target ?? null], { prepare: true });
    return afterRead({ ...position, cur }, rows.map((r) => entryFromRow(r)), limit);
}
/**
 * A read of one window: the entries of `$1` namespace, `$2` partition written by a transaction that `$3`
 * (prev) did not see and `cur` (SQL of a snapshot) does, for target `$7` (or null), in id order, at most
 * `$6`; after id `$5` when `continuing` (the window was read up to the limit before), else from its start
 * ($5 null). `guard` is a condition of the caller's that must hold for any row to be read.
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
 *   `offset 0`). A single range from xmin(prev) would cover both arms, until a transaction stays open:
 *   xmin(prev) then stays at its xid, and every read scans every row written since (an xid held 60 s at 500
 *   entries/s: 7,950 rows filtered per read, 2.5 ms, against 136 rows read).
 */
export function windowSql(schema, cur, guard, continuing) {
    const visible = `pg_visible_in_snapshot(e.xid, ${cur}) and ($7::text is null or $7::text = any(e.targets))`;
    const after = continuing ? 'and e.id > $5::bigint' : 'and $5::bigint is null';
    const where = `${guard} and e.namespace = $1 and e.partition = $2`;
    const newer = continuing
        ? `select ${ENTRY_COLUMNS} from ${schema}.entries e
        where ${where} ${after} and e.xid >= pg_snapshot_xmax($3::pg_snapshot) and ${visible}
        order by e.id limit $6`
        : `select * from (
         select ${ENTRY_COLUMNS} from ${schema}.entries e
          where ${where} ${after} and e.xid >= pg_snapshot_xmax($3::pg_snapshot)
            and e.xid < pg_snapshot_xmax(${cur}) and ${visible}
         offset 0) e
        order by e.id limit $6`;
    return `select e.* from (
       (${newer})
       union all
       (select ${ENTRY_COLUMNS}
          from pg_snapshot_xip($3::pg_snapshot) as x(xid)
          cross join lateral (
            select * from ${schema}.entries e where ${where} and e.xid = x.xid offset 0) e
         where ${visible} ${after}
         order by e.id limit $6)) e
     order by e.id
     limit $6`;
}
/** Where the next read starts, after reading `entries` of the window `read` (its cur set) up to `limit`. */
export function afterRead(read, entries, limit) {
    const next = entries.length < limit
        ? { prev: read.cur, cur: null, afterId: null }
        : { prev: read.prev, cur: read.cur, afterId: entries[entries.length - 1].id };
    return { entries, next };
}
//# sourceMappingURL=snapshot-reader.js.map