/**
 * The columns of EntryRow, for `select ${ENTRY_COLUMNS} from entries e`: named rather than `*`, so that a
 * prepared statement keeps its result type when a later migration adds a column to the log.
 */
export const ENTRY_COLUMNS = 'e.id, e.namespace, e.key, e.partition, e.op, e.payload, e.before, e.headers, e.targets, e.deliver_at, ' +
    'e.idempotency_key, e.xid, e.created_at, e.actor';
export function entryFromRow(row) {
    return {
        id: row.id,
        namespace: row.namespace,
        key: row.key,
        partition: row.partition,
        op: row.op,
        payload: row.payload,
        before: row.before,
        headers: row.headers,
        targets: row.targets,
        deliverAt: row.deliver_at,
        idempotencyKey: row.idempotency_key,
        xid: row.xid,
        createdAt: row.created_at,
        actor: row.actor,
    };
}
//# sourceMappingURL=entry.js.map