import type pg from 'pg';
import { RebuildError } from './errors.js';
import type { ResolvedIndex } from './index-definition.js';
import type { KeyChange } from './key-change.js';
import { type DecideMode, type Decision, decide, ix, type StoredRecord, slot } from './pg-index-decide.js';
import * as sql from './pg-index-sql.js';

type Gens = Map<string, { current: number; building: number | null }>;

/**
 * Applies one source transaction's changes in the open transaction on `client`: locks, then reads (the
 * generations, the keys' records, the holders of the unique values involved), then decide(), then writes.
 * With a refusal (a unique claim under 'fail') it writes nothing; the caller rolls back.
 */
export async function writeLive(
  client: pg.ClientBase,
  schema: string,
  changes: readonly KeyChange[],
  policy: 'fail' | 'report',
  locked: boolean,
): Promise<Decision> {
  if (!locked) await client.query(sql.lockSql, [lockTexts(changes)]);
  const pairs = unique(changes.flatMap((c) => c.indexes.map((i) => [c.namespace, i.index.name] as const)));
  const { rows } = await client.query<{
    namespace: string;
    index_name: string;
    current: number;
    building: number | null;
  }>(sql.generationsSql(schema), [pairs.map((p) => p[0]), pairs.map((p) => p[1])]);
  const gens: Gens = new Map(
    rows.map((r) => [ix(r.namespace, r.index_name), { current: r.current, building: r.building }]),
  );
  const slots = changes.flatMap((c) =>
    c.indexes.flatMap(({ index }) => {
      const g = gens.get(ix(c.namespace, index.name));
      return [g?.current ?? 0, ...(g?.building != null ? [g.building] : [])].map(
        (gen) => [c.namespace, index.name, gen, c.key] as const,
      );
    }),
  );
  const records = await readRecords(client, schema, slots);
  const asked = unique(
    changes.flatMap((c) =>
      c.indexes
        .filter((i) => i.index.unique)
        .flatMap(({ index, values }) => {
          const cur = gens.get(ix(c.namespace, index.name))?.current ?? 0;
          const held = records.get(slot(c.namespace, index.name, cur, c.key))?.vals ?? [];
          return [...values, ...held].map((v) => [c.namespace, index.name, cur, v] as const);
        }),
    ),
  );
  const holders = new Map<string, string[]>();
  if (asked.length > 0) {
    const found = await client.query<{ i: number; key: string }>(sql.holdersSql(schema), columns(asked));
    for (const { i, key } of found.rows) {
      const [ns, index, gen, value] = asked[i - 1]!;
      const k = slot(ns, index, gen, value);
      holders.set(k, [...(holders.get(k) ?? []), key]);
    }
  }
  const d = decide(changes, records, holders, { kind: 'live', policy, gens });
  if (!d.refused) await write(client, schema, d);
  return d;
}

/** Writes changes of one index into generation `gen` (a rebuild), in the open transaction on `client`. */
export async function writeGeneration(
  client: pg.ClientBase,
  schema: string,
  index: ResolvedIndex,
  gen: number,
  changes: readonly KeyChange[],
  ifAbsent: boolean,
): Promise<void> {
  await client.query(sql.lockSql, [keyLocks(changes)]);
  const { rows } = await client.query<{ building: number | null }>(sql.generationsSql(schema), [
    [index.namespace],
    [index.name],
  ]);
  if (rows[0]?.building !== gen)
    throw new RebuildError(index.name, `generation ${gen} is no longer being built`);
  const records = await readRecords(
    client,
    schema,
    changes.map((c) => [c.namespace, index.name, gen, c.key] as const),
  );
  const mode: DecideMode = { kind: 'gen', gen, ifAbsent };
  await write(client, schema, decide(changes, records, new Map(), mode));
}

const keyLocks = (changes: readonly KeyChange[]) => changes.map((c) => `k\u0001${c.namespace}\u0001${c.key}`);

/**
 * What a live write locks (lockSql): its keys, and the values it may claim in unique indexes. A transaction
 * takes all of its locks in one statement, so that two writers never wait for each other in a cycle.
 */
export function lockTexts(changes: readonly KeyChange[]): string[] {
  const claims = changes.flatMap((c) =>
    c.indexes
      .filter((i) => i.index.unique)
      .flatMap((i) => i.values.map((v) => `u\u0001${c.namespace}\u0001${i.index.name}\u0001${v}`)),
  );
  return [...keyLocks(changes), ...claims];
}

type Tuple = readonly [string, string, number, string];

async function readRecords(client: pg.ClientBase, schema: string, slots: readonly Tuple[]) {
  const records = new Map<string, StoredRecord>();
  if (slots.length === 0) return records;
  const { rows } = await client.query<{ i: number; version: string; vals: string[] }>(
    sql.recordsSql(schema),
    columns(slots),
  );
  for (const { i, version, vals } of rows) records.set(slot(...slots[i - 1]!), { version, vals });
  return records;
}

async function write(client: pg.ClientBase, schema: string, d: Decision): Promise<void> {
  if (d.keyRows.length === 0) return; // every value change comes with its record
  await client.query(sql.writeSql(schema), [
    ...sql.valueColumns(d.removeValues),
    ...sql.valueColumns(d.addValues),
    d.keyRows.map((r) => r.namespace),
    d.keyRows.map((r) => r.index),
    d.keyRows.map((r) => r.gen),
    d.keyRows.map((r) => r.key),
    d.keyRows.map((r) => r.version),
    d.keyRows.map((r) => JSON.stringify(r.vals)),
  ]);
}

const columns = (tuples: readonly Tuple[]) => [0, 1, 2, 3].map((n) => tuples.map((t) => t[n]));

function unique<T extends readonly unknown[]>(list: readonly T[]): T[] {
  const seen = new Map<string, T>();
  for (const t of list) seen.set(JSON.stringify(t), t);
  return [...seen.values()];
}
