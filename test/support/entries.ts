import type pg from 'pg';

/** How many entries the log in `schema` holds (of one namespace, if given), as a new statement sees it. */
export async function countEntries(pool: pg.Pool, schema: string, namespace?: string): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    `select count(*)::int as n from "${schema}".entries where $1::text is null or namespace = $1`,
    [namespace ?? null],
  );
  return rows[0]!.n;
}
