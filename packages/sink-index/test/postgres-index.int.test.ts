import { describeSink } from '@walbox/sink-testkit';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { isolatedWalbox } from '../../../test/support/db.js';
import { freePort } from '../../../test/support/free-port.js';
import { createPostgresIndexSink, type IndexDefinition, IndexSinkConfigError } from '../src/index.js';
import { targetDatabase } from './index-database.js';
import { indexScenarios } from './index-scenarios.js';

const target = await targetDatabase(inject('databaseUrl'));

// The conformance suite reads back, for (namespace, key), the one value of an index holding the payload as
// JSON: the key's record (its forward map), which a delete leaves empty.
const conformance: Record<string, IndexDefinition[]> = Object.fromEntries(
  Array.from({ length: 40 }, (_, i) => [
    `ns${i + 1}`,
    [{ name: `json-ns${i + 1}`, extract: (p: unknown) => JSON.stringify(p) }],
  ]),
);
for (const commit of ['transaction', 'batch'] as const) {
  const schema = `conformance_${commit}`;
  describeSink(
    `postgres index, a commit per ${commit}`,
    async () => ({
      create: () =>
        createPostgresIndexSink({ connectionString: target.url, schema, commit, indexes: conformance }),
      createDead: async () =>
        createPostgresIndexSink({
          connectionString: `postgres://postgres@127.0.0.1:${await freePort()}/x`,
          indexes: conformance,
        }),
      read: async (namespace, key) => {
        const { rows } = await target.pool.query<{ vals: string[] }>(
          `select vals from ${schema}.index_keys where namespace = $1 and index_name = $2 and gen = 0 and key = $3`,
          [namespace, `json-${namespace}`, key],
        );
        const vals = rows[0]?.vals ?? [];
        return vals.length === 0 ? undefined : JSON.parse(vals[0]!);
      },
      close: async () => {},
    }),
    { databaseUrl: inject('databaseUrl') },
  );
}

const { pool, walbox, schema } = await isolatedWalbox('sink-index-postgres');
for (const commit of ['transaction', 'batch'] as const)
  indexScenarios(commit === 'batch' ? 'pg-batch' : 'pg', {
    pool,
    walbox,
    schema,
    create: (config) => createPostgresIndexSink({ ...config, connectionString: target.url, commit }),
  });

describe('postgres index sink', () => {
  const sink = createPostgresIndexSink({
    connectionString: target.url,
    schema: 'cases',
    indexes: { things: [{ name: 'word', extract: (p: { words?: unknown }) => p.words as string[] }] },
  });
  afterAll(() => sink.close());
  const e = (id: number, key: string, words: unknown, op = 'upsert') => ({
    id: String(id),
    namespace: 'things',
    key,
    op,
    payload: { words },
  });

  it('matches long keys and values, and keeps ones that differ only past the btree limit apart', async () => {
    const long = 'k'.repeat(1024);
    const value = 'é'.repeat(999);
    await sink.apply([e(1, `${long}1`, [`${value}1`, 'short']), e(2, `${long}2`, [`${value}2`, 'short'])]);
    expect(await sink.lookup('word', `${value}1`)).toEqual([`${long}1`]);
    expect(await sink.lookup('word', 'short')).toEqual([`${long}1`, `${long}2`]);
  });

  it('fails the source transaction of an entry whose extract throws or gives a bad value, and no other', async () => {
    const result = await sink.apply([
      { ...e(10, 'a', ['x']), xid: 'T1' },
      { ...e(11, 'b', [{ not: 'a value' }]), xid: 'T1' },
      { ...e(12, 'c', ['x']), xid: 'T2' },
      { ...e(13, 'd', ['bad\u0000']), xid: 'T3' },
    ]);
    expect(result?.failed?.map((f) => f.id)).toEqual(['10', '11', '13']);
    expect(result?.failed?.[0]?.error).toMatchObject({ code: 'INDEX_EXTRACT', index: 'word' });
    expect(await sink.lookup('word', 'x')).toEqual(['c']);
  });

  it('names the bad field of a config', () => {
    const indexes = { things: [{ name: 'w', extract: () => 'x' }] };
    expect(() => createPostgresIndexSink({ indexes })).toThrow(IndexSinkConfigError);
    expect(() => createPostgresIndexSink({ indexes })).toThrow(/connectionString: give exactly one/);
    expect(() => createPostgresIndexSink({ connectionString: target.url, indexes: {} })).toThrow(
      /indexes: define at least one/,
    );
    expect(() =>
      createPostgresIndexSink({
        connectionString: target.url,
        indexes: { a: [{ name: 'w', extract: () => 'x' }], b: [{ name: 'w', extract: () => 'y' }] },
      }),
    ).toThrow(/indexes\.b\.0\.name: index w is defined twice/);
    expect(() =>
      createPostgresIndexSink({
        connectionString: target.url,
        indexes: { a: [{ name: 'a:b', extract: () => 'x' }] },
      }),
    ).toThrow(/indexes\.a\.0\.name/);
    expect(() => createPostgresIndexSink({ connectionString: target.url, indexes, schema: 'Bad' })).toThrow(
      /schema/,
    );
  });
});
