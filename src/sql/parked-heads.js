/**
 * The head of each key's parked entries in one (namespace, target, partition): its lowest parked entry, the
 * one that decides when the key may move on (`not_before`) and whether it is blocked. Entries parked behind a
 * head are not due on their own. Columns: key, entry_id, not_before, blocked. The three arguments are SQL
 * expressions (parameters, or a correlated row's columns).
 */
export function parkedHeadsSql(schema, namespace, target, partition) {
    return `select distinct on (p.key) p.key, p.entry_id, p.not_before, p.blocked
            from ${schema}.parked p
           where p.namespace = ${namespace} and p.target = ${target} and p.partition = ${partition}
           order by p.key, p.entry_id`;
}
/** A head that can go now: not blocked, and due. `now` is an SQL expression. */
export function headIsDue(head, now) {
    return `not ${head}.blocked and (${head}.not_before is null or ${head}.not_before <= ${now})`;
}
//# sourceMappingURL=parked-heads.js.map