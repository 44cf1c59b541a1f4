import { type ChunkedOptions, type Connecting, chunkSize, inTransaction } from './chunked-work.js';
import { InvalidConfigError } from './errors.js';
import { parseRef } from './mutations.js';
import { assertLogicalName } from './names.js';
import type { Sql } from './sql/context.js';
import { logPartitions, transactionEntriesSql } from './sql/transaction-entries.js';

/**
 * A range of one namespace's log, re-delivered to one target. It is queued in chunks of `chunkSize` entries
 * in one transaction; `onProgress(done, total)` counts the range's entries gone through (those already
 * queued for the target are gone through but not queued again).
 */
export interface RangeReplayOptions extends ChunkedOptions {
  namespace: string;
  target: string;
  /** First entry id to re-deliver (inclusive). */
  from: string;
  /** Last entry id (inclusive); default: the newest. */
  to?: string;
  /** Entry ids to leave out, e.g. the bad write a store was restored to get rid of. */
  exclude?: string[];
}

/** One user mutation: every entry of one source transaction, to each of its targets (or only `target`). */
export interface MutationReplayOptions {
  /** The source transaction's id (`transaction_id` in the audit view, `transactionId` of mutations.status). */
  transactionId: string;
  target?: string;
}

export type ReplayOptions = RangeReplayOptions | MutationReplayOptions;

/**
 * Re-delivers a range of the log to one target, in log order per key, ahead of newer entries of the same
 * keys. For corruption recovery: restore the store from a backup, then replay from the backup's point.
 * Returns how many entries were queued.
 */
export async function replay(sql: Sql, pool: Connecting, o: ReplayOptions): Promise<number> {
  if ('transactionId' in o) return replayMutation(sql, o);
  assertLogicalName('namespace', o.namespace);
  assertLogicalName('target', o.target);
  for (const [field, v] of [
    ['from', o.from],
    ['to', o.to],
    ...(o.exclude ?? []).map((id) => ['exclude', id] as const),
  ] as const) {
    if (v !== undefined && !isEntryId(v)) throw new InvalidConfigError(field, 'expected an entry id');
  }
  const chunk = chunkSize(o.chunkSize);
  const { schema, channel } = sql;
  const range = `e.namespace = $1 and $2 = any(e.targets) and not (e.id = any($3::bigint[]))`;
  return inTransaction(pool, async (db) => {
    // An open range ends at the newest entry now: what commits while it is queued is not part of it.
    const { rows: counted } = await db.query<{ total: number; last: string | null }>(
      `select count(*)::int as total, max(e.id)::text as last from ${schema}.entries e
        where ${range} and e.id >= $4::bigint and ($5::bigint is null or e.id <= $5::bigint)`,
      [o.namespace, o.target, o.exclude ?? [], o.from, o.to ?? null],
    );
    const { total, last } = counted[0]!;
    o.onProgress?.(0, total);
    if (last === null) return 0;
    let after = String(BigInt(o.from) - 1n);
    let done = 0;
    let queued = 0;
    for (;;) {
      const { rows } = await db.query<{ seen: number; last: string | null; queued: number }>(
        `with batch as (
           select e.namespace, e.partition, e.key, e.id from ${schema}.entries e
            where ${range} and e.id > $4::bigint and e.id <= $5::bigint
            order by e.id limit $6
         ),
         queued as (
           insert into ${schema}.parked (namespace, target, partition, key, entry_id)
           select b.namespace, $2, b.partition, b.key, b.id from batch b
           on conflict do nothing
           returning 1
         )
         select (select count(*) from batch)::int as seen, (select max(id) from batch)::text as last,
                (select count(*) from queued)::int as queued, pg_notify($7, $1)`,
        [o.namespace, o.target, o.exclude ?? [], after, last, chunk, channel],
      );
      const r = rows[0]!;
      if (r.seen === 0 || r.last === null) return queued;
      done += r.seen;
      queued += r.queued;
      after = r.last;
      o.onProgress?.(done, total);
    }
  });
}

/**
 * Queues every entry of one source transaction again, at each of its targets (or one), ahead of newer entries
 * of the same keys, in log order per key: the mutation is re-applied as it was, where a sink's version guard
 * lets it (a store restored from a backup, a target that lost it).
 */
async function replayMutation(sql: Sql, o: MutationReplayOptions): Promise<number> {
  const { db, schema, channel } = sql;
  const { xid } = parseRef({ transactionId: o.transactionId });
  if (o.target !== undefined) assertLogicalName('target', o.target);
  const { rows } = await db.query<{ n: number }>(
    `with queued as (
       insert into ${schema}.parked (namespace, target, partition, key, entry_id)
       select e.namespace, t.target, e.partition, e.key, e.id
         from (${transactionEntriesSql(schema, '$1', '$4', '$5')}) e
        cross join unnest(e.targets) as t(target)
        where $2::text is null or t.target = $2::text
       on conflict do nothing
       returning namespace
     ),
     woken as (select pg_notify($3, q.namespace) from (select distinct namespace from queued) q)
     select (select count(*)::int from queued) as n, (select count(*) from woken) as woken`,
    [xid, o.target ?? null, channel, ...Object.values(await logPartitions(sql))],
  );
  return rows[0]?.n ?? 0;
}

function isEntryId(v: unknown): boolean {
  return typeof v === 'string' && /^\d{1,19}$/.test(v);
}
