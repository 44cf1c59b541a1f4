import { InvalidConfigError, UnknownNamespaceError } from './errors.js';
import { assertLogicalName } from './names.js';
import type { Sql } from './sql/context.js';

export interface StatusOptions {
  /** One namespace; default: all. */
  namespace?: string;
  /** Stop counting a partition's pending entries here (default 100,000): a deep backlog is not walked. */
  cap?: number;
}

/** How far one (namespace, target, partition) is behind. */
export interface PartitionStatus {
  partition: number;
  /** Log entries not offered to the target yet (at most `cap`; `capped` when there may be more). */
  pending: number;
  capped: boolean;
  /** When the first of them (in transaction order) was appended: now minus this is the lag. */
  oldestPendingAt: Date | null;
  /** Offered and held back: delayed, backing off after a failure, queued behind their key, or blocked. */
  parked: number;
  /** Of the parked, key heads blocked until an operator acts (onExhausted 'block'). */
  blocked: number;
  /** Open dead letters (dead or blocking). */
  dead: number;
  /** Consecutive whole-batch failures (the target is down or rejects everything) and the next attempt. */
  failures: number;
  retryAt: Date | null;
  /** The dispatcher draining it right now, if any. */
  leaseOwner: string | null;
  leaseUntil: Date | null;
  /** Entries delivered through this cursor since it was created. */
  delivered: number;
  /** Last progress (or lease change) of its cursor; null if no dispatcher has touched it yet. */
  updatedAt: Date | null;
}

/** One target of one namespace: its partitions, and their sums. */
export interface TargetStatus {
  namespace: string;
  target: string;
  pending: number;
  /** Some partition's count stopped at `cap`. */
  capped: boolean;
  oldestPendingAt: Date | null;
  /** Milliseconds since oldestPendingAt (by the database clock); 0 when nothing is pending. */
  lagMs: number;
  parked: number;
  blocked: number;
  dead: number;
  /** Partitions whose last batch failed as a whole. */
  failing: number;
  /** Partitions a dispatcher holds a lease on right now. */
  draining: number;
  delivered: number;
  partitions: PartitionStatus[];
}

interface LagRow {
  namespace: string;
  target: string;
  partition: number;
  pending: number;
  capped: boolean;
  oldest_pending_at: Date | null;
  parked: number;
  blocked: number;
  dead: number;
  failures: number;
  retry_at: Date | null;
  lease_owner: string | null;
  lease_until: Date | null;
  delivered: string;
  updated_at: Date | null;
  now: Date;
}

/** Delivery lag per target (and partition), read from <schema>.delivery_lag(). */
export async function readStatus(sql: Sql, options: StatusOptions = {}): Promise<TargetStatus[]> {
  const { db, schema } = sql;
  const { namespace, cap = 100_000 } = options;
  if (namespace !== undefined) assertLogicalName('namespace', namespace);
  if (!Number.isInteger(cap) || cap < 1 || cap > 100_000_000) {
    throw new InvalidConfigError('cap', 'expected an integer from 1 to 100000000');
  }
  const { rows } = await db.query<LagRow>(
    `select l.*, clock_timestamp() as now from ${schema}.delivery_lag($1, $2) l`,
    [namespace ?? null, cap],
  );
  if (namespace !== undefined && rows.length === 0) {
    // No row: no such namespace, or one without targets (nothing to be behind on).
    const known = await db.query(`select 1 from ${schema}.namespaces where name = $1`, [namespace]);
    if (known.rows.length === 0) throw new UnknownNamespaceError(namespace);
  }
  const byTarget = new Map<string, TargetStatus>();
  for (const r of rows) {
    const id = `${r.namespace}\u0000${r.target}`;
    let t = byTarget.get(id);
    if (!t) {
      t = {
        namespace: r.namespace,
        target: r.target,
        pending: 0,
        capped: false,
        oldestPendingAt: null,
        lagMs: 0,
        parked: 0,
        blocked: 0,
        dead: 0,
        failing: 0,
        draining: 0,
        delivered: 0,
        partitions: [],
      };
      byTarget.set(id, t);
    }
    const p: PartitionStatus = {
      partition: r.partition,
      pending: r.pending,
      capped: r.capped,
      oldestPendingAt: r.oldest_pending_at,
      parked: r.parked,
      blocked: r.blocked,
      dead: r.dead,
      failures: r.failures,
      retryAt: r.retry_at,
      leaseOwner: r.lease_owner,
      leaseUntil: r.lease_until,
      delivered: Number(r.delivered),
      updatedAt: r.updated_at,
    };
    t.partitions.push(p);
    t.pending += p.pending;
    t.capped ||= p.capped;
    if (p.oldestPendingAt && (!t.oldestPendingAt || p.oldestPendingAt < t.oldestPendingAt)) {
      t.oldestPendingAt = p.oldestPendingAt;
      t.lagMs = Math.max(0, r.now.getTime() - p.oldestPendingAt.getTime());
    }
    t.parked += p.parked;
    t.blocked += p.blocked;
    t.dead += p.dead;
    if (p.failures > 0) t.failing++;
    if (p.leaseOwner) t.draining++;
    t.delivered += p.delivered;
  }
  return [...byTarget.values()];
}
