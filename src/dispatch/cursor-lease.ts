import type { Sql } from '../sql/context.js';
import { nextHeadDueSql } from '../sql/parked-heads.js';
import type { CursorState, PartitionRef } from './step-types.js';

interface CursorRow {
  prev: string;
  cur: string | null;
  after_id: string | null;
  failures: number;
  retry_at: Date | null;
  probe_until_id: string | null;
}

/**
 * The exclusive right to drain one (namespace, target, partition): a row lock-free lease that lapses unless
 * its holder renews it. Creates the cursor on first use (reading from the start of the log).
 */
export class CursorLease {
  /**
   * Until when (performance.now()) this process surely still holds the lease: half a lease after the start
   * of the last statement that extended it. The database sets lease_until = its clock + leaseMs during that
   * statement, so no other dispatcher can take the lease over before leaseMs after it began; the margin
   * covers clock drift and a database clock that steps forward. A drain step skips the database's lease
   * check until then (it reads the cursor row, whose versions pile up while the xmin horizon is pinned).
   */
  #surelyHeldUntil = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly sql: Sql,
    readonly ref: PartitionRef,
    readonly owner: string,
    readonly leaseMs: number,
  ) {}

  /** The cursor if the lease was free, lapsed or already ours; undefined if another live holder has it. */
  async acquire(): Promise<CursorState | undefined> {
    const began = performance.now();
    const { rows } = await this.sql.db.query<CursorRow>(
      `insert into ${this.sql.schema}.cursors as c (namespace, target, partition, lease_owner, lease_until)
       values ($1, $2, $3, $4, clock_timestamp() + make_interval(secs => $5::float8 / 1000))
       on conflict (namespace, target, partition) do update
          set lease_owner = excluded.lease_owner, lease_until = excluded.lease_until
        where c.lease_owner is null or c.lease_owner = excluded.lease_owner or c.lease_until < clock_timestamp()
       returning prev_snapshot::text as prev, cur_snapshot::text as cur, after_id::text, failures, retry_at,
                 probe_until_id::text`,
      [this.ref.namespace, this.ref.target, this.ref.partition, this.owner, this.leaseMs],
    );
    const row = rows[0];
    if (!row) return undefined;
    this.extended(began);
    return {
      position: { prev: row.prev, cur: row.cur, afterId: row.after_id },
      failures: row.failures,
      retryAt: row.retry_at,
      probeUntilId: row.probe_until_id,
    };
  }

  /** Extends the lease; false if it lapsed meanwhile (another dispatcher may hold it now). */
  async renew(): Promise<boolean> {
    const began = performance.now();
    const { rows } = await this.sql.db.query(
      `update ${this.sql.schema}.cursors
          set lease_until = clock_timestamp() + make_interval(secs => $5::float8 / 1000)
        where namespace = $1 and target = $2 and partition = $3
          and lease_owner = $4 and lease_until > clock_timestamp()
        returning 1`,
      [this.ref.namespace, this.ref.target, this.ref.partition, this.owner, this.leaseMs],
    );
    if (rows.length !== 1) {
      this.#surelyHeldUntil = Number.NEGATIVE_INFINITY;
      return false;
    }
    this.extended(began);
    return true;
  }

  /** A statement that began at `began` (performance.now()) set lease_until to the database clock + leaseMs. */
  extended(began: number): void {
    this.#surelyHeldUntil = Math.max(this.#surelyHeldUntil, began + this.leaseMs / 2);
  }

  /** This process surely holds the lease now, without asking the database (see #surelyHeldUntil). */
  get surelyHeld(): boolean {
    return performance.now() < this.#surelyHeldUntil;
  }

  /** Gives the lease up; appends notify the partition again (busy_until cleared). */
  async release(): Promise<void> {
    this.#surelyHeldUntil = Number.NEGATIVE_INFINITY;
    await this.sql.db.query(
      `update ${this.sql.schema}.cursors set lease_owner = null, lease_until = null, busy_until = null
        where namespace = $1 and target = $2 and partition = $3 and lease_owner = $4`,
      [this.ref.namespace, this.ref.target, this.ref.partition, this.owner],
    );
  }

  /**
   * When the earliest key head (its lowest parked entry) that is not blocked becomes due, if any. Only heads
   * count: an entry queued behind its key (e.g. a delayed one behind a blocked head) is not due on its own,
   * and a past not_before there would make the drain spin.
   */
  async nextDue(): Promise<Date | null> {
    const { rows } = await this.sql.db.query<{ at: Date | null }>(
      nextHeadDueSql(this.sql.schema, '$1', '$2', '$3'),
      [this.ref.namespace, this.ref.target, this.ref.partition],
    );
    return rows[0]?.at ?? null;
  }
}
