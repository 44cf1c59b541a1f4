import { type ChunkedOptions, type Connecting, chunkSize, inTransaction } from './chunked-work.js';
import type { Entry, EntryRow } from './entry.js';
import { entryFromRow } from './entry.js';
import type { Sql } from './sql/context.js';

export type DeadLetterStatus = 'dead' | 'blocking' | 'redriven' | 'discarded';

export interface DeadLetter {
  id: string;
  entryId: string;
  namespace: string;
  target: string;
  partition: number;
  key: string;
  /** A copy of the entry as it was appended (kept even after retention drops the log partition). */
  entry: Entry;
  /**
   * False once retention has dropped the log partition of the entry. Such a dead letter cannot be redriven
   * (see `redrive`); its copy in `entry` is all that is left, and discarding it closes it.
   */
  inLog: boolean;
  status: DeadLetterStatus;
  attempts: number;
  lastError: string | null;
  firstFailedAt: Date | null;
  lastFailedAt: Date;
  resolvedAt: Date | null;
}

export interface DeadLetterFilter {
  namespace?: string;
  target?: string;
  key?: string;
  /** Default: the open ones, 'dead' and 'blocking'. */
  status?: DeadLetterStatus[];
  limit?: number;
}

interface DeadLetterRow {
  id: string;
  entry_id: string;
  namespace: string;
  target: string;
  partition: number;
  key: string;
  entry: EntryRow & { deliver_at: string | null; created_at: string };
  in_log: boolean;
  status: DeadLetterStatus;
  attempts: number;
  last_error: string | null;
  first_failed_at: Date | null;
  last_failed_at: Date;
  resolved_at: Date | null;
}

const OPEN: DeadLetterStatus[] = ['dead', 'blocking'];

/**
 * Entries whose retries ran out, and the operator's two verbs: redrive (deliver again) and discard. Both go
 * through their selection in chunks of `chunkSize` (oldest entry first) in one transaction, calling
 * `onProgress(done, total)` after each.
 */
export class DeadLetters {
  constructor(
    private readonly sql: Sql,
    private readonly pool: Connecting,
  ) {}

  async list(filter: DeadLetterFilter = {}): Promise<DeadLetter[]> {
    const { where, values } = this.#where(filter, 'd.');
    values.push(filter.limit ?? 100);
    const s = this.sql.schema;
    const { rows } = await this.sql.db.query<DeadLetterRow>(
      `select d.*, ${inLog(s)} as in_log from ${s}.dead_letters d
        where ${where} order by d.entry_id limit $${values.length}`,
      values,
    );
    return rows.map(fromRow);
  }

  /**
   * How many open dead letters of `selection` cannot be redriven because retention has dropped the log
   * partition of their entry (`inLog` false). Call it after a `redrive` that returned fewer than expected.
   */
  async countOutOfLog(selection: string[] | DeadLetterFilter): Promise<number> {
    const { where, values } = this.#selection(selection);
    const s = this.sql.schema;
    const { rows } = await this.sql.db.query<{ n: number }>(
      `select count(*)::int as n from ${s}.dead_letters d
        where ${where} and d.status in ('dead', 'blocking') and not ${inLog(s)}`,
      values,
    );
    return rows[0]!.n;
  }

  /**
   * Delivers open dead letters again, in log order per key: a 'dead' one is re-queued ahead of later
   * entries of its key still waiting; a 'blocking' one is retried, unblocking its key once it succeeds.
   * Returns how many were redriven.
   *
   * One whose log partition retention has dropped (`inLog` false) is not redriven and stays open: its stored
   * copy is not re-appended, because a new entry id would order it after newer entries of its key and a
   * version-guarded store would move backwards. `countOutOfLog(selection)` says how many of a selection that
   * left open; discard them (their copy stays readable in `list`).
   */
  redrive(selection: string[] | DeadLetterFilter, options: ChunkedOptions = {}): Promise<number> {
    const s = this.sql.schema;
    return this.#inChunks(
      selection,
      options,
      inLog(s),
      (chosen, channel) => `with chosen as (
         update ${s}.dead_letters d set status = 'redriven', resolved_at = now()
          where d.id in (${chosen}) and d.status in ('dead', 'blocking')
         returning d.*
       ),
       unblocked as (
         update ${s}.parked p set blocked = false, attempts = 0, not_before = null, last_error = null
           from chosen c
          where c.status = 'redriven' and p.entry_id = c.entry_id and p.target = c.target
            and p.namespace = c.namespace and p.partition = c.partition
         returning p.entry_id
       ),
       requeued as (
         insert into ${s}.parked (namespace, target, partition, key, entry_id)
         select c.namespace, c.target, c.partition, c.key, c.entry_id from chosen c
         on conflict do nothing
         returning entry_id
       )
       select (select count(*) from chosen)::int as n, (select count(*) from unblocked) as u,
              (select count(*) from requeued) as r, pg_notify(${channel}, string_agg(distinct namespace, ','))
         from chosen`,
    );
  }

  /** Gives up on open dead letters for good; a blocked key moves on to its next entry. Returns how many. */
  discard(selection: string[] | DeadLetterFilter, options: ChunkedOptions = {}): Promise<number> {
    const s = this.sql.schema;
    return this.#inChunks(
      selection,
      options,
      'true',
      (chosen, channel) => `with chosen as (
         update ${s}.dead_letters d set status = 'discarded', resolved_at = now()
          where d.id in (${chosen}) and d.status in ('dead', 'blocking')
         returning d.*
       ),
       unparked as (
         delete from ${s}.parked p using chosen c
          where p.entry_id = c.entry_id and p.target = c.target and p.namespace = c.namespace
            and p.partition = c.partition and p.blocked
         returning p.entry_id
       )
       select (select count(*) from chosen)::int as n, (select count(*) from unparked) as u,
              pg_notify(${channel}, string_agg(distinct namespace, ','))
         from chosen`,
    );
  }

  /**
   * Counts the open dead letters of `selection` that `eligible`, then runs `statement` on the next chunk of
   * them (oldest entry first) until none is left. A chunk's rows leave the open statuses, so the next
   * chunk's select skips them without a cursor.
   */
  async #inChunks(
    selection: string[] | DeadLetterFilter,
    options: ChunkedOptions,
    eligible: string,
    statement: (chosen: string, channel: string) => string,
  ): Promise<number> {
    const chunk = chunkSize(options.chunkSize);
    const { where, values } = this.#selection(selection);
    const open = `${where} and d.status in ('dead', 'blocking') and ${eligible}`;
    const s = this.sql.schema;
    const chosen = `select d.id from ${s}.dead_letters d where ${open} order by d.entry_id, d.id limit $${values.length + 1}`;
    const text = statement(chosen, `$${values.length + 2}`);
    return inTransaction(this.pool, async (db) => {
      const { rows } = await db.query<{ n: number }>(
        `select count(*)::int as n from ${s}.dead_letters d where ${open}`,
        values,
      );
      const total = rows[0]!.n;
      options.onProgress?.(0, total);
      let done = 0;
      for (;;) {
        const { rows: chunkRows } = await db.query<{ n: number }>(text, [...values, chunk, this.sql.channel]);
        const n = chunkRows[0]?.n ?? 0;
        if (n === 0) return done;
        done += n;
        options.onProgress?.(done, total);
      }
    });
  }

  #selection(selection: string[] | DeadLetterFilter) {
    if (Array.isArray(selection)) {
      return { where: 'd.id = any($1::bigint[])', values: [selection] as unknown[] };
    }
    return this.#where(selection, 'd.');
  }

  #where(filter: DeadLetterFilter, prefix = '') {
    const values: unknown[] = [filter.status ?? OPEN];
    const clauses = [`${prefix}status = any($1::text[])`];
    for (const field of ['namespace', 'target', 'key'] as const) {
      const v = filter[field];
      if (v !== undefined) {
        values.push(v);
        clauses.push(`${prefix}${field} = $${values.length}`);
      }
    }
    return { where: clauses.join(' and '), values };
  }
}

/** Whether the log still holds the entry of dead letter `d` (retention drops whole partitions). */
const inLog = (schema: string) => `exists (select 1 from ${schema}.entries e where e.id = d.entry_id)`;

function fromRow(r: DeadLetterRow): DeadLetter {
  return {
    id: r.id,
    entryId: r.entry_id,
    namespace: r.namespace,
    target: r.target,
    partition: r.partition,
    key: r.key,
    entry: entryFromRow({
      ...r.entry,
      id: String(r.entry.id),
      xid: String(r.entry.xid),
      deliver_at: r.entry.deliver_at ? new Date(r.entry.deliver_at) : null,
      created_at: new Date(r.entry.created_at),
    }),
    inLog: r.in_log,
    status: r.status,
    attempts: r.attempts,
    lastError: r.last_error,
    firstFailedAt: r.first_failed_at,
    lastFailedAt: r.last_failed_at,
    resolvedAt: r.resolved_at,
  };
}
