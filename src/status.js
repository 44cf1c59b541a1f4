import { InvalidConfigError, UnknownNamespaceError } from './errors.js';
import { assertLogicalName } from './names.js';
/** Delivery lag per target (and partition), read from <schema>.delivery_lag(). */
export async function readStatus(sql, options = {}) {
    const { db, schema } = sql;
    const { namespace, cap = 100_000 } = options;
    if (namespace !== undefined)
        assertLogicalName('namespace', namespace);
    if (!Number.isInteger(cap) || cap < 1 || cap > 100_000_000) {
        throw new InvalidConfigError('cap', 'expected an integer from 1 to 100000000');
    }
    const { rows } = await db.query(`select l.*, clock_timestamp() as now from ${schema}.delivery_lag($1, $2) l`, [namespace ?? null, cap]);
    if (namespace !== undefined && rows.length === 0) {
        // No row: no such namespace, or one without targets (nothing to be behind on).
        const known = await db.query(`select 1 from ${schema}.namespaces where name = $1`, [namespace]);
        if (known.rows.length === 0)
            throw new UnknownNamespaceError(namespace);
    }
    const byTarget = new Map();
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
        const p = {
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
        if (p.failures > 0)
            t.failing++;
        if (p.leaseOwner)
            t.draining++;
        t.delivered += p.delivered;
    }
    return [...byTarget.values()];
}
//# sourceMappingURL=status.js.map