import { InvalidConfigError } from './errors.js';
import type { Queryable } from './executor.js';
import { assertLogicalName } from './names.js';

export interface ReplayOptions {
  namespace: string;
  target: string;
  /** First entry id to re-deliver (inclusive). */
  from: string;
  /** Last entry id (inclusive); default: the newest. */
  to?: string;
  /** Entry ids to leave out, e.g. the bad write a store was restored to get rid of. */
  exclude?: string[];
}

/**
 * Re-delivers a range of the log to one target, in log order per key, ahead of newer entries of the same
 * keys. For corruption recovery: restore the store from a backup, then replay from the backup's point.
 * Returns how many entries were queued.
 */
export async function replay(
  db: Queryable,
  schema: string,
  channel: string,
  o: ReplayOptions,
): Promise<number> {
  assertLogicalName('namespace', o.namespace);
  assertLogicalName('target', o.target);
  for (const [field, v] of [
    ['from', o.from],
    ['to', o.to],
    ...(o.exclude ?? []).map((id) => ['exclude', id] as const),
  ] as const) {
    if (v !== undefined && !isEntryId(v)) throw new InvalidConfigError(field, 'expected an entry id');
  }
  const { rows } = await db.query<{ n: number }>(
    `with queued as (
       insert into ${schema}.parked (namespace, target, partition, key, entry_id)
       select e.namespace, $2, e.partition, e.key, e.id
         from ${schema}.entries e
        where e.namespace = $1 and $2 = any(e.targets)
          and e.id >= $3::bigint and ($4::bigint is null or e.id <= $4::bigint)
          and not (e.id = any($5::bigint[]))
       on conflict do nothing
       returning 1
     )
     select count(*)::int as n, pg_notify($6, $1) from queued`,
    [o.namespace, o.target, o.from, o.to ?? null, o.exclude ?? [], channel],
  );
  return rows[0]?.n ?? 0;
}

function isEntryId(v: unknown): boolean {
  return typeof v === 'string' && /^\d{1,19}$/.test(v);
}
