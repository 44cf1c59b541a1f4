import { describeSink, entry } from '@walbox/sink-testkit';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../../test/support/free-port.js';
import { createPostgresSink, PostgresSinkConfigError } from '../src/index.js';
import { replicaDatabase } from './replica-database.js';

const replica = await replicaDatabase(inject('databaseUrl'));

describeSink(
  'postgres',
  async () => {
    const reader = createPostgresSink({ connectionString: replica.url });
    return {
      create: () => createPostgresSink({ connectionString: replica.url }),
      createDead: async () =>
        createPostgresSink({ connectionString: `postgres://postgres@127.0.0.1:${await freePort()}/x` }),
      read: async (namespace, key) => {
        const row = await reader.read(namespace, key);
        return row && !row.deleted ? row.payload : undefined;
      },
      close: () => reader.close(),
    };
  },
  { databaseUrl: inject('databaseUrl') },
);

const sink = createPostgresSink({ connectionString: replica.url, schema: 'replica_cases' });
afterAll(() => sink.close());
let seq = 0;
const ns = () => `pg-${++seq}`;
const rows = async (table: string) =>
  (
    await replica.pool.query(
      `select key, payload, version::text, deleted from replica_cases."${table}" order by key`,
    )
  ).rows;

describe('postgres sink', () => {
  it('keeps a row per key with its version, and a tombstone row for a delete', async () => {
    const n = ns();
    await sink.apply([
      entry(n, 1, 'a', 'upsert', { v: 1 }),
      entry(n, 2, 'b', 'upsert', 'b'),
      entry(n, 3, 'b', 'delete'),
    ]);
    expect(await rows(n)).toEqual([
      { key: 'a', payload: { v: 1 }, version: '1', deleted: false },
      { key: 'b', payload: null, version: '3', deleted: true },
    ]);
    expect(await sink.read(n, 'b')).toEqual({ payload: null, version: '3', deleted: true });
    expect(await sink.read('never-written', 'x')).toBeUndefined();
  });

  it('fails every entry of a source transaction one of whose writes Postgres refuses, and commits the others', async () => {
    const n = ns();
    // jsonb cannot hold \u0000 (SQLSTATE 22P05): the entry's source transaction A fails whole.
    const batch = [
      entry(n, 1, 'a', 'upsert', 'a1', 'A'),
      entry(n, 2, 'c', 'upsert', 'c2', 'C'),
      entry(n, 3, 'b', 'upsert', 'bad \u0000', 'A'),
      entry(n, 4, 'd', 'upsert', 'd4', 'D'),
      entry(n, 5, 'a', 'upsert', 'a5', 'E'), // a later transaction writing a key of A fails too
      entry(n, 6, 'e', 'upsert', 'e6', 'E'),
    ];
    const result = await sink.apply(batch);
    expect(result?.failed.map((f) => f.id).sort()).toEqual(['1', '3', '5', '6']);
    expect(result?.failed.find((f) => f.id === '3')?.error).toMatchObject({ code: '22P05' });
    expect((await rows(n)).map((r) => `${r.key}=${r.payload}`)).toEqual(['c=c2', 'd=d4']);
  });

  it('maps namespaces to tables with tableFor, and fails the entries of a namespace whose table name is bad', async () => {
    const mapped = createPostgresSink({
      connectionString: replica.url,
      schema: 'replica_cases',
      tableFor: (namespace) => (namespace === 'bad' ? 'Not A Table' : `t_${namespace.replaceAll('-', '_')}`),
    });
    try {
      const n = ns();
      const result = await mapped.apply([
        entry(n, 1, 'k', 'upsert', 'v'),
        entry('bad', 2, 'k', 'upsert', 'v'),
      ]);
      expect(result?.failed.map((f) => f.id)).toEqual(['2']);
      expect(await rows(`t_${n.replaceAll('-', '_')}`)).toMatchObject([{ key: 'k', payload: 'v' }]);
    } finally {
      await mapped.close();
    }
  });

  it('creates tables only through ensureTables with createTables: false, and fails the batch before', async () => {
    const manual = createPostgresSink({
      connectionString: replica.url,
      schema: 'replica_manual',
      createTables: false,
    });
    try {
      const n = ns();
      await expect(manual.apply([entry(n, 1, 'k', 'upsert', 'v')])).rejects.toMatchObject({ code: '42P01' });
      await manual.ensureTables([n]);
      expect(await manual.apply([entry(n, 1, 'k', 'upsert', 'v')])).toBeUndefined();
      expect(await manual.read(n, 'k')).toMatchObject({ payload: 'v', version: '1' });
    } finally {
      await manual.close();
    }
  });

  it('names the bad field of a config', () => {
    expect(() => createPostgresSink({})).toThrow(PostgresSinkConfigError);
    expect(() => createPostgresSink({})).toThrow(
      /connectionString: give exactly one of connectionString and pool/,
    );
    expect(() => createPostgresSink({ connectionString: replica.url, schema: 'Bad' })).toThrow(/schema/);
    expect(() => createPostgresSink({ connectionString: replica.url, statementTimeoutMs: 1 })).toThrow(
      /statementTimeoutMs/,
    );
  });
});
