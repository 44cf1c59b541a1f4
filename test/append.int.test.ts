import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { Walbox } from '../src/index.js';
import { databaseUrl, isolatedWalbox } from './support/db.js';

const { pool, walbox, schema } = await isolatedWalbox('append');

describe('append', () => {
  it('appends and returns the stored entry', async () => {
    await walbox.namespaces.upsert({ name: 'users', targets: ['cache'] });
    const e = await walbox.append(pool, { namespace: 'users', key: 'u1', op: 'upsert', payload: { a: 1 } });
    expect(e.id).toMatch(/^\d+$/);
    expect(e.payload).toEqual({ a: 1 });
    expect(e.targets).toEqual(['cache']);
    const many = await walbox.appendMany(
      pool,
      Array.from({ length: 5 }, (_, i) => ({
        namespace: 'users',
        key: `k${i}`,
        op: 'upsert',
        payload: { i },
      })),
    );
    expect(many.map((m) => m.payload)).toEqual([0, 1, 2, 3, 4].map((i) => ({ i })));
    const { rows } = await pool.query(`select count(*)::int as n from "${schema}".entries`);
    expect(rows[0].n).toBe(6);
  });
});

describe('preparedStatements', () => {
  it("runs append and appendMany as named prepared statements on the connection, in the caller's transaction", async () => {
    await walbox.namespaces.upsert({ name: 'prepared', targets: ['cache'] });
    const prepared = new Walbox({ pool, schema, preparedStatements: true });
    const client = await pool.connect();
    try {
      const walboxStatements = async () =>
        (
          await client.query<{ statement: string }>(
            `select statement from pg_prepared_statements where name like 'walbox\\_%' order by statement`,
          )
        ).rows.map((r) => (r.statement.includes('append_one') ? 'append_one' : 'append_json'));
      expect(await walboxStatements()).toEqual([]);
      await client.query('begin');
      for (let i = 0; i < 3; i++) {
        const e = await prepared.append(client, {
          namespace: 'prepared',
          key: `p${i}`,
          op: 'upsert',
          payload: i,
        });
        expect([e.key, e.payload, e.partition]).toEqual([`p${i}`, i, 0]);
      }
      const many = await prepared.appendMany(client, [
        { namespace: 'prepared', key: 'm1', op: 'upsert', payload: 1 },
        { namespace: 'prepared', key: 'm2', op: 'delete' },
      ]);
      expect(many.map((e) => e.key)).toEqual(['m1', 'm2']);
      expect(await walboxStatements()).toEqual(['append_json', 'append_one']);
      await client.query('rollback');
      const { rows } = await pool.query(
        `select count(*)::int as n from "${schema}".entries where namespace = 'prepared'`,
      );
      expect(rows[0].n).toBe(0); // rolled back with the caller's transaction
    } finally {
      client.release();
    }
    // The default prepares nothing (a connection of its own: the pool's keep their statements).
    const plain = new pg.Client({ connectionString: databaseUrl() });
    await plain.connect();
    try {
      await walbox.append(plain, { namespace: 'prepared', key: 'q', op: 'upsert' });
      const { rows } = await plain.query(`select count(*)::int as n from pg_prepared_statements`);
      expect(rows[0].n).toBe(0);
    } finally {
      await plain.end();
    }
  });
});

describe('duplicate flag', () => {
  it('says whether append stored a new entry or returned the one with the same idempotency key', async () => {
    await walbox.namespaces.upsert({ name: 'dup', targets: [] });
    const first = await walbox.append(pool, {
      namespace: 'dup',
      key: 'k',
      op: 'upsert',
      idempotencyKey: 'x',
    });
    const again = await walbox.append(pool, {
      namespace: 'dup',
      key: 'k',
      op: 'upsert',
      idempotencyKey: 'x',
    });
    expect(first.duplicate).toBe(false);
    expect(again).toMatchObject({ id: first.id, duplicate: true });
  });
});

describe('what append returns', () => {
  it('is the stored entry, field for field, on the single-entry path and the batch path alike', async () => {
    await walbox.namespaces.upsert({ name: 'fields', targets: ['a', 'b'], partitions: 3 });
    const full = (key: string) => ({
      namespace: 'fields',
      key,
      op: 'upsert',
      payload: { name: key, tags: ['x', 'y'], n: 1.5 },
      before: { name: 'old' },
      headers: { trace: 't-1' },
      targets: ['b'],
      delay: { ms: 60_000 },
      idempotencyKey: `idem-${key}`,
      actor: 'tester',
    });
    const bare = (key: string) => ({ namespace: 'fields', key, op: 'delete' });
    const returned = [
      await walbox.append(pool, full('one')),
      await walbox.append(pool, bare('one-bare')),
      ...(await walbox.appendMany(pool, [full('m1'), bare('m2'), full('m3')])),
    ];
    const stored = new Map<string, unknown>();
    for (let partition = 0; partition < 3; partition++) {
      const read = await walbox.readBatch(
        { namespace: 'fields', partition },
        { prev: '1:1:', cur: null, afterId: null },
      );
      for (const e of read.entries) stored.set(e.id, e);
    }
    expect(returned).toHaveLength(5);
    for (const r of returned) {
      const { duplicate, ...entry } = r;
      expect(duplicate).toBe(false);
      expect(entry).toEqual(stored.get(r.id));
    }
    expect(returned[0]).toMatchObject({ targets: ['b'], actor: 'tester', idempotencyKey: 'idem-one' });
    expect(returned[1]).toMatchObject({ targets: ['a', 'b'], payload: null, before: null, headers: {} });
    expect(returned[0]!.deliverAt!.getTime() - returned[0]!.createdAt.getTime()).toBeGreaterThanOrEqual(
      59_000,
    );
  });
});
