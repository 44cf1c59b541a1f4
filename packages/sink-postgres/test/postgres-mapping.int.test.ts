import { entry } from '@walbox/sink-testkit';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { createPostgresSink, type PostgresMapping } from '../src/index.js';
import { replicaDatabase } from './replica-database.js';

const replica = await replicaDatabase(inject('databaseUrl'));

interface Db {
  people: { id: string; name: string | null; version: string; deleted: boolean };
}

// The user's own table, and a mapping that keeps the version guard and tombstones itself.
const mapping: PostgresMapping<Db> = async (db, { commands }) => {
  for (const { last, action } of commands) {
    const name = (last.payload as { name?: unknown } | null)?.name;
    if (action === 'upsert' && typeof name !== 'string') throw new TypeError(`entry ${last.id} has no name`);
    const row = {
      id: last.key,
      name: action === 'delete' ? null : (name as string),
      version: last.id,
      deleted: action === 'delete',
    };
    await db
      .insertInto('people')
      .values(row)
      .onConflict((oc) =>
        oc
          .column('id')
          .doUpdateSet({ name: row.name, version: row.version, deleted: row.deleted })
          .where('people.version', '<', row.version),
      )
      .execute();
  }
};

const sink = createPostgresSink({ connectionString: replica.url, mapping });
beforeAll(async () => {
  await replica.pool.query(
    'create table people (id text primary key, name text, version bigint not null, deleted boolean not null)',
  );
});
afterAll(() => sink.close());
const people = async () =>
  (await replica.pool.query('select id, name, version::text, deleted from people order by id')).rows;

it('writes source transactions to the user tables through a Kysely mapping, in the replica transaction', async () => {
  expect(
    await sink.apply([
      entry('people', 1, 'ada', 'upsert', { name: 'Ada' }, 'A'),
      entry('people', 2, 'bob', 'upsert', { name: 'Bob' }, 'A'),
      entry('people', 3, 'bob', 'delete', null, 'B'),
    ]),
  ).toBeUndefined();
  await sink.apply([entry('people', 2, 'bob', 'upsert', { name: 'Bob again' }, 'A')]); // older than the delete
  expect(await people()).toEqual([
    { id: 'ada', name: 'Ada', version: '1', deleted: false },
    { id: 'bob', name: null, version: '3', deleted: true },
  ]);
  // No table per namespace was created.
  const { rows } = await replica.pool.query(`select 1 from pg_namespace where nspname = 'walbox_replica'`);
  expect(rows).toEqual([]);
});

it('fails every entry of a source transaction whose mapping throws, and commits the others', async () => {
  const result = await sink.apply([
    entry('people', 10, 'cy', 'upsert', { name: 'Cy' }, 'C'),
    entry('people', 11, 'di', 'upsert', { nom: 'Di' }, 'C'), // no name: the mapping throws
    entry('people', 12, 'ed', 'upsert', { name: 'Ed' }, 'D'),
  ]);
  expect(result?.failed.map((f) => f.id)).toEqual(['10', '11']);
  expect(result?.failed[0]?.error).toBeInstanceOf(TypeError);
  expect((await people()).map((p) => p.id)).toEqual(['ada', 'bob', 'ed']);
});
