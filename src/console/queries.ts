import type pg from 'pg';
import type { DeadLetterStatus } from '../dead-letters.js';
import { quoteIdent } from '../names.js';

/** A key held back at one target: the entry at its head, and why it waits. */
export interface HeldKey {
  partition: number;
  key: string;
  /** The entry that holds the key: every later entry of the key waits behind it. */
  entryId: string;
  op: string | null;
  appendedAt: Date | null;
  blocked: boolean;
  attempts: number;
  lastError: string | null;
  firstFailedAt: Date | null;
  /** When a retrying head is offered again. */
  notBefore: Date | null;
  /** Entries of the key parked behind the head. */
  behind: number;
  /** The open dead letter of a blocked head (its id, for redrive and discard). */
  deadLetterId: string | null;
}

export interface DeadLetterDetail {
  id: string;
  entryId: string;
  namespace: string;
  target: string;
  partition: number;
  key: string;
  status: DeadLetterStatus;
  attempts: number;
  lastError: string | null;
  firstFailedAt: Date | null;
  lastFailedAt: Date;
  resolvedAt: Date | null;
  /** False once retention has dropped the entry's log partition: it can no longer be redriven. */
  inLog: boolean;
  /** The entry as appended (the dead letter's copy). */
  entry: Record<string, unknown>;
}

/**
 * The console's own reads, beside the SDK's: which keys of a target are blocked or retrying and what holds
 * each, and one dead letter by id. Parameters only; the schema name is validated and quoted.
 */
export class ConsoleQueries {
  readonly #schema: string;

  constructor(
    private readonly pool: pg.Pool,
    schemaName: string,
  ) {
    this.#schema = quoteIdent('schema', schemaName);
  }

  /** Blocked heads first, then retrying ones, oldest entry first; at most `limit`. */
  async heldKeys(namespace: string, target: string, limit = 200): Promise<HeldKey[]> {
    const s = this.#schema;
    const { rows } = await this.pool.query<HeldKey>(
      `select h.partition, h.key, h.entry_id::text as "entryId", e.op, e.created_at as "appendedAt", h.blocked,
              h.attempts, h.last_error as "lastError", h.first_failed_at as "firstFailedAt",
              h.not_before as "notBefore",
              (select count(*)::int - 1 from ${s}.parked q
                where q.namespace = h.namespace and q.target = h.target and q.partition = h.partition
                  and q.key = h.key) as behind,
              d.id::text as "deadLetterId"
         from (select distinct on (p.partition, p.key) p.*
                 from ${s}.parked p
                where p.namespace = $1 and p.target = $2
                order by p.partition, p.key, p.entry_id) h
         left join lateral (select e.op, e.created_at from ${s}.entries e where e.id = h.entry_id limit 1) e on true
         left join lateral (
           select d.id from ${s}.dead_letters d
            where d.entry_id = h.entry_id and d.target = h.target and d.status in ('dead', 'blocking')
            order by d.id desc limit 1) d on true
        where h.blocked or h.attempts > 0
        order by h.blocked desc, h.entry_id
        limit $3`,
      [namespace, target, limit],
    );
    return rows;
  }

  async deadLetter(id: string): Promise<DeadLetterDetail | undefined> {
    const { rows } = await this.pool.query<DeadLetterDetail>(
      `select id::text, entry_id::text as "entryId", namespace, target, partition, key, status, attempts,
              last_error as "lastError", first_failed_at as "firstFailedAt", last_failed_at as "lastFailedAt",
              resolved_at as "resolvedAt", entry,
              exists (select 1 from ${this.#schema}.entries e where e.id = d.entry_id) as "inLog"
         from ${this.#schema}.dead_letters d where d.id = $1::bigint`,
      [id],
    );
    return rows[0];
  }
}
