import type pg from 'pg';

/** How many entries the log in `schema` holds (of one namespace, if given), as a new statement sees it. */
export async function countEntries(pool: pg.Pool, schema: string, namespace?: string): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    `select count(*)::int as n from "${schema}".entries where $1::text is null or namespace = $1`,
    [namespace ?? null],
  );
  return rows[0]!.n;
}

/** The ids of the entries parked for (namespace, target) in `schema`, in id order. */
export async function parkedIds(
  pool: pg.Pool,
  schema: string,
  namespace: string,
  target: string,
): Promise<string[]> {
  const { rows } = await pool.query<{ id: string }>(
    `select p.entry_id::text as id from "${schema}".parked p
      where p.namespace = $1 and p.target = $2 order by p.entry_id`,
    [namespace, target],
  );
  return rows.map((r) => r.id);
}

/** A key that `partition_of` puts in `partition` of `partitions` (the first of k1, k2, ...). */
export async function keyInPartition(
  pool: pg.Pool,
  schema: string,
  partitions: number,
  partition: number,
): Promise<string> {
  const { rows } = await pool.query<{ key: string }>(
    `select k as key from generate_series(1, 1000) g, lateral (select 'k' || g as k) x
      where "${schema}".partition_of(k, $1, 'key') = $2 limit 1`,
    [partitions, partition],
  );
  return rows[0]!.key;
}
