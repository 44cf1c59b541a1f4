/** Every (namespace, partition) of the log: each namespace's partitions, and any other one a cursor still reads. */
export async function logPartitions(sql) {
    const { db, schema } = sql;
    const { rows } = await db.query(`select n.name, p.partition
       from ${schema}.namespaces n
      cross join generate_series(0, n.partitions - 1) as p(partition)
     union
     select c.namespace, c.partition from ${schema}.cursors c`);
    return { names: rows.map((r) => r.name), partitions: rows.map((r) => r.partition) };
}
/**
 * The entries one source transaction wrote: one probe of the reader index (namespace, partition, xid) per
 * log partition, which `$names`/`$partitions` (SQL of two parallel arrays, from logPartitions) list. Passed in
 * as arrays rather than generated here: the planner estimates a generate_series per namespace at 1,000 rows,
 * and the resulting cost made Postgres JIT-compile the query (0.7 s for a 1 ms lookup).
 */
export function transactionEntriesSql(schema, xid, names, partitions) {
    return `select e.* from unnest(${names}::text[], ${partitions}::int[]) as np(namespace, partition)
           cross join lateral (
             select * from ${schema}.entries e
              where e.namespace = np.namespace and e.partition = np.partition and e.xid = ${xid}::xid8
             offset 0) e`;
}
//# sourceMappingURL=transaction-entries.js.map