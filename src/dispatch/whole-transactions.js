import { ENTRY_COLUMNS, entryFromRow } from '../entry.js';
/**
 * Extends a read that stopped at its limit in the middle of a window so that no source transaction is split
 * across two batches: a sink that applies a batch atomically (one target transaction, a write batch) then
 * never shows half of a source transaction. Transactions interleave in id order, so a transaction with
 * entries past the last one read pulls in every entry of the window up to its last one; those may belong to
 * further transactions that continue past that, and so on until no transaction of the batch continues. The
 * batch grows past the limit by the interleaved span; the read position moves to its new end, so nothing is
 * read twice or skipped.
 *
 * A transaction's entries share `created_at` (the transaction's start, now()), which bounds the lookup to
 * the day partitions the batch's own entries are in.
 */
export async function completeTransactions(sql, ref, read) {
    const { db, schema } = sql;
    const { next } = read;
    if (next.afterId === null || next.cur === null || read.entries.length === 0)
        return read; // the window closed
    const entries = [...read.entries];
    let last = next.afterId;
    let open = entries;
    while (open.length > 0) {
        const times = open.map((e) => e.createdAt.getTime());
        const { rows } = await db.query(`with upto as (
         select max(e.id) as id from ${schema}.entries e
          where e.namespace = $1 and e.partition = $2 and e.xid = any($3::xid8[]) and e.id > $4::bigint
            and e.created_at >= $5 and e.created_at < $6)
       select ${ENTRY_COLUMNS} from ${schema}.entries e, upto
        where upto.id is not null and e.namespace = $1 and e.partition = $2
          and e.id > $4::bigint and e.id <= upto.id
          and pg_visible_in_snapshot(e.xid, $7::pg_snapshot) and not pg_visible_in_snapshot(e.xid, $8::pg_snapshot)
          and $9::text = any(e.targets)
        order by e.id`, [
            ref.namespace,
            ref.partition,
            [...new Set(open.map((e) => e.xid))],
            last,
            // Dates hold milliseconds, created_at microseconds: widen the upper bound by one.
            new Date(Math.min(...times)),
            new Date(Math.max(...times) + 1),
            next.cur,
            next.prev,
            ref.target,
        ], { prepare: true });
        open = rows.map((r) => entryFromRow(r));
        entries.push(...open);
        last = open.at(-1)?.id ?? last;
    }
    return { entries, next: { ...next, afterId: last } };
}
//# sourceMappingURL=whole-transactions.js.map