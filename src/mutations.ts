import { InvalidConfigError } from './errors.js';
import type { Sql } from './sql/context.js';
import { logPartitions, transactionEntriesSql } from './sql/transaction-entries.js';

/** Where one part of a mutation stands at its target. */
export type PartState = 'applied' | 'pending' | 'retrying' | 'dead';

/** One entry of a mutation at one of its targets. */
export interface MutationPart {
  entryId: string;
  namespace: string;
  key: string;
  op: string;
  target: string;
  state: PartState;
  /** Failed attempts so far (retrying or dead). */
  attempts: number;
  lastError: string | null;
  /** When a retrying part is offered again. */
  nextAttemptAt: Date | null;
}

export interface MutationStatus {
  /** The source transaction's id (xid8), when every entry asked about shares one. */
  transactionId: string | null;
  /** Every part is applied. False while any part is pending, retrying or dead, and when nothing was found. */
  complete: boolean;
  /** No entry of the mutation is in the log (a wrong id, or dropped by retention). */
  found: boolean;
  parts: MutationPart[];
  /** How many parts are in each state. */
  counts: Record<PartState, number>;
}

/** A mutation: the source transaction (its id, as `transaction_id` in the audit view), or some of its entries. */
export type MutationRef = string | { transactionId: string } | { entryIds: readonly string[] };

interface PartRow {
  entry_id: string;
  namespace: string;
  key: string;
  op: string;
  xid: string;
  target: string;
  state: PartState;
  attempts: number;
  last_error: string | null;
  not_before: Date | null;
}

const XID = /^\d{1,20}$/;
const ENTRY_ID = /^\d{1,19}$/;

/**
 * User mutations spread over namespaces and targets: one source transaction's entries, each at each of its
 * targets. What a support engineer asks after an incident: "did this user's change reach every store?"
 */
export class Mutations {
  constructor(private readonly sql: Sql) {}

  /**
   * Each part of the mutation (entry x target) and its state: applied (the target's cursor passed it and it
   * is not parked), pending (not offered yet, delayed, or queued behind its key or by a replay), retrying (it
   * failed and waits for its next attempt) or dead (dead-lettered, blocking its key, or discarded by an
   * operator). `complete` once every part is applied; a dead part keeps it incomplete until it is redriven.
   */
  async status(ref: MutationRef): Promise<MutationStatus> {
    const { xid, ids } = parseRef(ref);
    const s = this.sql.schema;
    const { rows } = await this.sql.db.query<PartRow>(
      `with found as (
         ${transactionEntriesSql(s, '$1', '$3', '$4')}
          where $1::xid8 is not null
         union all
         select e.* from ${s}.entries e where e.id = any($2::bigint[]))
       select e.id::text as entry_id, e.namespace, e.key, e.op, e.xid::text, t.target,
              case
                when d.status in ('dead', 'blocking') then 'dead'
                when pk.entry_id is not null and pk.attempts > 0 then 'retrying'
                when pk.entry_id is not null then 'pending'
                when d.status = 'discarded' then 'dead'
                when passed then 'applied'
                -- Not passed while the whole batch keeps failing (the target is down): retrying as well.
                when c.failures > 0 then 'retrying'
                else 'pending'
              end as state,
              case
                when pk.entry_id is not null then pk.attempts
                when d.status is not null then d.attempts
                when not passed and c.failures > 0 then c.failures
                else 0
              end as attempts,
              coalesce(pk.last_error, d.last_error) as last_error,
              case
                when pk.attempts > 0 then pk.not_before
                when pk.entry_id is null and not passed and c.failures > 0 then c.retry_at
              end as not_before
         from found e
        cross join unnest(e.targets) as t(target)
         left join ${s}.cursors c
           on c.namespace = e.namespace and c.target = t.target and c.partition = e.partition
        cross join lateral (
          select coalesce(pg_visible_in_snapshot(e.xid, c.prev_snapshot)
                          or (c.cur_snapshot is not null and pg_visible_in_snapshot(e.xid, c.cur_snapshot)
                              and e.id <= c.after_id), false) as passed) v
         left join ${s}.parked pk
           on pk.namespace = e.namespace and pk.target = t.target and pk.partition = e.partition
          and pk.entry_id = e.id
         left join lateral (
           select d.status, d.attempts, d.last_error from ${s}.dead_letters d
            where d.entry_id = e.id and d.target = t.target and d.status in ('dead', 'blocking', 'discarded')
            order by d.id desc limit 1) d on true
        order by e.id, t.target`,
      [xid, ids, ...(xid === null ? [[], []] : Object.values(await logPartitions(this.sql)))],
    );
    const counts: Record<PartState, number> = { applied: 0, pending: 0, retrying: 0, dead: 0 };
    for (const r of rows) counts[r.state]++;
    const xids = new Set(rows.map((r) => r.xid));
    return {
      transactionId: xids.size === 1 ? [...xids][0]! : (xid ?? null),
      complete: rows.length > 0 && counts.applied === rows.length,
      found: rows.length > 0,
      parts: rows.map((r) => ({
        entryId: r.entry_id,
        namespace: r.namespace,
        key: r.key,
        op: r.op,
        target: r.target,
        state: r.state,
        attempts: r.attempts,
        lastError: r.last_error,
        nextAttemptAt: r.not_before,
      })),
      counts,
    };
  }
}

/** The transaction id, or the entry ids, of a mutation reference; both validated. */
export function parseRef(ref: MutationRef): { xid: string | null; ids: string[] } {
  if (typeof ref === 'string' || 'transactionId' in ref) {
    const xid = typeof ref === 'string' ? ref : ref.transactionId;
    if (typeof xid !== 'string' || !XID.test(xid)) {
      throw new InvalidConfigError('transactionId', 'expected a transaction id (xid8, digits only)');
    }
    return { xid, ids: [] };
  }
  const ids = ref.entryIds;
  if (!Array.isArray(ids) || ids.length === 0 || ids.length > 10_000) {
    throw new InvalidConfigError('entryIds', 'expected 1 to 10,000 entry ids');
  }
  for (const id of ids) {
    if (typeof id !== 'string' || !ENTRY_ID.test(id))
      throw new InvalidConfigError('entryIds', `not an entry id: ${String(id)}`);
  }
  return { xid: null, ids: [...ids] };
}
