import type pg from 'pg';
import type { Walbox } from '../../../src/index.js';
import type { IndexDefinition, IndexSink } from '../src/index.js';

/** A user row of the business table, which is also the payload its entries carry. */
export interface User {
  id: string;
  email: string;
  plan: string;
  tags: string[];
}

/** The indexes the scenarios define: a unique one, a single-valued one and a multi-valued one. */
export const userIndexes = (prefix: string): IndexDefinition<User>[] => [
  { name: `${prefix}email`, extract: (u) => u.email, unique: true },
  { name: `${prefix}plan`, extract: (u) => u.plan },
  { name: `${prefix}tag`, extract: (u) => u.tags },
];

export type Change = { op: 'upsert'; user: User } | { op: 'delete'; id: string };

/**
 * The business table of one namespace and its writer: each call to `commit` is one database transaction that
 * changes the rows and appends their entries (the transactional outbox), as a service would.
 */
export async function usersTable(pool: pg.Pool, walbox: Walbox, schema: string, namespace: string) {
  const table = `"${schema}"."${namespace.replaceAll(/[^a-z0-9_]/g, '_')}"`;
  await pool.query(
    `create table ${table} (id text primary key, email text not null, plan text not null, tags text[] not null)`,
  );
  return {
    async commit(changes: readonly Change[]): Promise<string[]> {
      const client = await pool.connect();
      try {
        await client.query('begin');
        for (const c of changes)
          if (c.op === 'upsert')
            await client.query(
              `insert into ${table} values ($1, $2, $3, $4)
               on conflict (id) do update set email = $2, plan = $3, tags = $4`,
              [c.user.id, c.user.email, c.user.plan, c.user.tags],
            );
          else await client.query(`delete from ${table} where id = $1`, [c.id]);
        const appended = await walbox.appendMany(
          client,
          changes.map((c) =>
            c.op === 'upsert'
              ? { namespace, key: c.user.id, op: 'upsert', payload: c.user }
              : { namespace, key: c.id, op: 'delete' },
          ),
        );
        await client.query('commit');
        return appended.map((e) => e.id);
      } catch (error) {
        await client.query('rollback');
        throw error;
      } finally {
        client.release();
      }
    },
    async rows(): Promise<User[]> {
      return (await pool.query<User>(`select id, email, plan, tags from ${table} order by id`)).rows;
    },
  };
}

/** value -> sorted keys, for each index: what a full rebuild from `rows` holds. */
export function expectedIndex(defs: readonly IndexDefinition<User>[], rows: readonly User[]) {
  const out: Record<string, Record<string, string[]>> = {};
  for (const d of defs) {
    const byValue: Record<string, string[]> = {};
    for (const row of rows) {
      const raw = d.extract(row, { id: '0', namespace: '', key: row.id, op: 'upsert', payload: row });
      for (const v of new Set(Array.isArray(raw) ? raw : raw == null ? [] : [raw]))
        byValue[String(v)] = [...(byValue[String(v)] ?? []), row.id];
    }
    for (const keys of Object.values(byValue)) keys.sort();
    out[d.name] = byValue;
  }
  return out;
}

/** The same shape read from the sink, by looking up every value the test ever wrote (`universe`). */
export async function actualIndex(
  sink: IndexSink,
  defs: readonly IndexDefinition<User>[],
  universe: Iterable<User>,
) {
  const out: Record<string, Record<string, string[]>> = {};
  const all = [...universe];
  for (const d of defs) {
    const values = new Set(
      all.flatMap((u) =>
        [d.extract(u, { id: '0', namespace: '', key: u.id, op: 'upsert', payload: u })].flat(),
      ),
    );
    const byValue: Record<string, string[]> = {};
    for (const v of values) {
      if (v === undefined || v === null) continue;
      const keys = await sink.lookup(d.name, v as string);
      if (keys.length > 0) byValue[String(v)] = keys;
    }
    out[d.name] = byValue;
  }
  return out;
}

/** A small deterministic generator (mulberry32), so that a failing run can be repeated. */
export function random(seed: number) {
  let a = seed;
  const next = () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(list: readonly T[]) => list[Math.floor(next() * list.length)]!,
    chance: (p: number) => next() < p,
  };
}

/** Resolves once walbox has nothing pending or parked for (namespace, target). */
export async function settled(walbox: Walbox, namespace: string, target: string): Promise<boolean> {
  const [s] = (await walbox.status({ namespace })).filter((t) => t.target === target);
  return s !== undefined && s.pending === 0 && s.parked === 0;
}
