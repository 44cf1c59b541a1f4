/**
 * The heads of the parked keys of one (namespace, target, partition). A key's head is its lowest parked entry:
 * it decides when the key may move on (`not_before`) and whether it is blocked; entries parked behind a head
 * are not due on their own. The namespace, target and partition arguments are SQL expressions (parameters, or
 * a correlated row's columns).
 *
 * Heads are read from the soonest due, through parked_due_idx (0015): the entries that are not blocked, by
 * when they may go, then key and id. Listing every key's head first (`distinct on (key)`) scanned all of a
 * partition's parked entries on each read, and the dispatcher reads them several times per step: 25,000 rows
 * per read with 100,000 delayed jobs in four partitions (bench:jobs, docs/jobs.md).
 */

/** When parked entry `p` may go: its not_before, or at once (-infinity) when it has none. As in parked_due_idx. */
const dueAt = (p: string) => `coalesce(${p}.not_before, '-infinity'::timestamptz)`;

/**
 * The heads that are not blocked and whose due time is in `range` (a condition on a due time), soonest
 * first, at most `limit`. Columns: key, not_before.
 *
 * A recursive walk of parked_due_idx, one index descent per (due time, key): the first entry of each, then a
 * jump past the rest of that key's entries due at that time. An entry found is its key's head if no lower
 * entry of its key is parked (one probe of parked_key_idx). So a backlog parked behind a blocked head (one
 * key, many entries due at once) costs one descent, not one probe per entry, and the walk stops at `limit`
 * heads or at the end of the range: a read costs what it returns, not what is parked.
 */
function headsByDueSql(
  schema: string,
  parts: { namespace: string; target: string; partition: string },
  range: (at: string) => string,
  limit: string,
): string {
  const where = `p.namespace = ${parts.namespace} and p.target = ${parts.target} and p.partition = ${parts.partition}
                 and not p.blocked and ${range(dueAt('p'))}`;
  const next = `select p.key, ${dueAt('p')} as due_at, p.entry_id, p.not_before from ${schema}.parked p`;
  const order = `order by ${dueAt('p')}, p.key, p.entry_id limit 1`;
  return `with recursive walk as (
             (${next} where ${where} ${order})
             union all
             select n.* from walk w cross join lateral (
               ${next} where ${where} and (${dueAt('p')}, p.key) > (w.due_at, w.key) ${order}) n
           )
           select w.key, w.not_before from walk w
            where w.entry_id <= (select min(q.entry_id) from ${schema}.parked q
                                  where q.namespace = ${parts.namespace} and q.target = ${parts.target}
                                    and q.partition = ${parts.partition} and q.key = w.key)
            limit ${limit}`;
}

/**
 * The keys whose head is not blocked and due by `now` (at most `limit`, the soonest due first). `now` is
 * evaluated once, as an init plan, so that even a volatile clock_timestamp() bounds the index range.
 */
export function dueHeadKeysSql(
  schema: string,
  namespace: string,
  target: string,
  partition: string,
  now: string,
  limit: string,
): string {
  return `select h.key from (${headsByDueSql(
    schema,
    { namespace, target, partition },
    (at) => `${at} <= (select ${now}::timestamptz)`,
    limit,
  )}) h`;
}

/**
 * The earliest not_before of a head that is not blocked (one row, null when there is none). A head without
 * not_before is due already and does not count: a past time here would make the drain spin.
 */
export function nextHeadDueSql(schema: string, namespace: string, target: string, partition: string): string {
  return `select (select h.not_before from (${headsByDueSql(
    schema,
    { namespace, target, partition },
    (at) => `${at} > '-infinity'::timestamptz`,
    '1',
  )}) h) as at`;
}
