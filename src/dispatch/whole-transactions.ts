import { ENTRY_COLUMNS, type Entry, type EntryRow, entryFromRow } from '../entry.js';
import type { ReadResult } from '../snapshot-reader.js';
import type { Sql } from '../sql/context.js';
import type { PartitionRef } from './step-types.js';

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
 *
 * The statement is prepared, and its generic plan is made once per connection, often while the day's
 * partition is small or its statistics lag. Two shapes keep that plan bounded whatever the statistics:
 * - The end of the span: one probe of the reader index (namespace, partition, xid) per open transaction,
 *   asking for that index's order (as the window read does: snapshot-reader.ts), so the key index cannot
 *   win a tie.
 * - The span itself: a range of the primary key. Its namespace and partition are tested as one `is true`
 *   condition, which no index can answer, so the plan cannot read every entry of the (namespace, partition)
 *   written that day and filter on the id: with the span as a join to the end's subquery, a generic plan did
 *   (a backlog of 57,000 entries in the partition: 10,318 buffers and 31 ms for 274 entries; now 100 and 2).
 *   The range holds the other partitions' entries written meanwhile too, filtered: the span is short.
 */
export async function completeTransactions(
  sql: Sql,
  ref: PartitionRef,
  read: ReadResult,
): Promise<ReadResult> {
  const { db, schema } = sql;
  const { next } = read;
  if (next.afterId === null || next.cur === null || read.entries.length === 0) return read; // the window closed
  const entries = [...read.entries];
  let last = next.afterId;
  // A transaction probed once ends within the span that probe added (its last entry bounds it), so only
  // transactions first seen in the rows just added can continue past the new end.
  const probed = new Set<string>();
  let open: Entry[] = entries;
  for (;;) {
    open = open.filter((e) => !probed.has(e.xid));
    if (open.length === 0) break;
    for (const e of open) probed.add(e.xid);
    const times = open.map((e) => e.createdAt.getTime());
    const { rows } = await db.query<EntryRow>(
      `select ${ENTRY_COLUMNS} from ${schema}.entries e
        where (e.namespace = $1 and e.partition = $2) is true
          and e.id > $4::bigint
          and e.id <= (select max(u.id)
                         from unnest($3::xid8[]) as x(xid)
                         cross join lateral (
                           select u.id from ${schema}.entries u
                            where u.namespace = $1 and u.partition = $2 and u.xid >= x.xid and u.xid <= x.xid
                              and u.id > $4::bigint and u.created_at >= $5 and u.created_at < $6
                            order by u.namespace, u.partition, u.xid offset 0) u)
          and e.created_at < statement_timestamp() + interval '1 day'
          and pg_visible_in_snapshot(e.xid, $7::pg_snapshot) and not pg_visible_in_snapshot(e.xid, $8::pg_snapshot)
          and $9::text = any(e.targets)
        order by e.id`,
      [
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
      ],
      { prepare: true },
    );
    open = rows.map((r) => entryFromRow(r));
    entries.push(...open);
    last = open.at(-1)?.id ?? last;
  }
  return { entries, next: { ...next, afterId: last } };
}
