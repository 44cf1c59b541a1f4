import { CompiledQuery, Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Entry, EntryInput, Executor } from '../src/index.js';
import { businessSchema } from './support/business-schema.js';
import { databaseUrl, isolatedWalbox } from './support/db.js';
import { countEntries } from './support/entries.js';

const { pool, walbox, schema } = await isolatedWalbox('atomicity');
const biz = await businessSchema(pool, schema);

interface Db {
  accounts: { id: string; balance: number };
}

// Its own pool: Kysely's destroy() ends the pool it was given.
const db = new Kysely<Db>({
  dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: databaseUrl(), max: 5 }) }),
});
afterAll(() => db.destroy());

beforeAll(async () => {
  await pool.query(`create table "${biz}".accounts (id text primary key, balance int not null)`);
  await walbox.namespaces.upsert({ name: 'accounts', targets: ['search'] });
});

let seq = 0;
function entry(payload: unknown = { n: ++seq }): EntryInput {
  return { namespace: 'accounts', key: `k${++seq}`, op: 'upsert', payload };
}

/** Whether an entry with this id is visible to a new statement on another connection. */
async function committed(id: string): Promise<boolean> {
  const { rows } = await pool.query(`select 1 from "${schema}".entries where id = $1`, [id]);
  return rows.length === 1;
}

async function accountCommitted(id: string): Promise<boolean> {
  const { rows } = await pool.query(`select 1 from "${biz}".accounts where id = $1`, [id]);
  return rows.length === 1;
}

/** An open transaction as the caller holds it: the executor walbox appends on, and a way to run SQL in it. */
interface Tx {
  executor: Executor;
  query(text: string, values?: unknown[]): Promise<Record<string, unknown>[]>;
}

interface TxKind {
  name: string;
  /** Runs `work` inside a transaction of this kind, then commits or rolls back. */
  run<T>(outcome: 'commit' | 'rollback', work: (tx: Tx) => Promise<T>): Promise<T>;
}

class Rollback extends Error {}

const pgTx = (client: pg.ClientBase): Tx => ({
  executor: client,
  query: async (text, values) => (await client.query(text, values)).rows,
});

const txKinds: TxKind[] = [
  {
    name: 'pg Client inside BEGIN',
    async run(outcome, work) {
      const client = new pg.Client({ connectionString: databaseUrl() });
      await client.connect();
      try {
        await client.query('begin');
        const result = await work(pgTx(client));
        await client.query(outcome);
        return result;
      } finally {
        await client.end();
      }
    },
  },
  {
    name: 'pg PoolClient inside BEGIN',
    async run(outcome, work) {
      const client = await pool.connect();
      try {
        await client.query('begin');
        const result = await work(pgTx(client));
        await client.query(outcome);
        return result;
      } catch (err) {
        await client.query('rollback');
        throw err;
      } finally {
        client.release();
      }
    },
  },
  {
    name: 'Kysely Transaction',
    async run(outcome, work) {
      let result: Awaited<ReturnType<typeof work>> | undefined;
      try {
        await db.transaction().execute(async (trx) => {
          result = await work({
            executor: trx,
            query: async (text, values = []) =>
              (await trx.executeQuery(CompiledQuery.raw(text, values))).rows as Record<string, unknown>[],
          });
          // Kysely rolls the transaction back when the callback throws.
          if (outcome === 'rollback') throw new Rollback();
        });
      } catch (err) {
        if (!(err instanceof Rollback)) throw err;
      }
      return result as Awaited<ReturnType<typeof work>>;
    },
  },
];

describe.each(txKinds)('append on a $name', (kind) => {
  it('is visible inside the transaction only, and durable once it commits', async () => {
    const appended = await kind.run('commit', async (tx) => {
      const e = await walbox.append(tx.executor, entry({ step: 'commit' }));
      expect(await tx.query(`select payload from "${schema}".entries where id = $1`, [e.id])).toEqual([
        { payload: { step: 'commit' } },
      ]);
      expect(await committed(e.id)).toBe(false);
      return e;
    });
    expect(await committed(appended.id)).toBe(true);
    const { rows } = await pool.query(`select key, payload, targets from "${schema}".entries where id = $1`, [
      appended.id,
    ]);
    expect(rows).toEqual([{ key: appended.key, payload: { step: 'commit' }, targets: ['search'] }]);
  });

  it('vanishes when the transaction rolls back', async () => {
    const before = await countEntries(pool, schema);
    const appended = await kind.run('rollback', async (tx) => {
      const e = await walbox.append(tx.executor, entry());
      expect(await tx.query(`select 1 from "${schema}".entries where id = $1`, [e.id])).toHaveLength(1);
      return e;
    });
    expect(await committed(appended.id)).toBe(false);
    expect(await countEntries(pool, schema)).toBe(before);
  });

  it('commits together with the business row', async () => {
    const id = `acct-${++seq}`;
    const e = await kind.run('commit', async (tx) => {
      await tx.query(`insert into "${biz}".accounts (id, balance) values ($1, 10)`, [id]);
      return walbox.append(tx.executor, { namespace: 'accounts', key: id, op: 'upsert', payload: { id } });
    });
    expect(await accountCommitted(id)).toBe(true);
    expect(await committed(e.id)).toBe(true);
  });

  it('rolls back together with the business row', async () => {
    const id = `acct-${++seq}`;
    const e = await kind.run('rollback', async (tx) => {
      await tx.query(`insert into "${biz}".accounts (id, balance) values ($1, 10)`, [id]);
      return walbox.append(tx.executor, { namespace: 'accounts', key: id, op: 'upsert', payload: { id } });
    });
    expect(await accountCommitted(id)).toBe(false);
    expect(await committed(e.id)).toBe(false);
  });

  it('appendMany commits all entries, or none on rollback', async () => {
    const kept = await kind.run('commit', (tx) =>
      walbox.appendMany(tx.executor, [entry(), entry(), entry()]),
    );
    expect(await Promise.all(kept.map((e) => committed(e.id)))).toEqual([true, true, true]);

    const before = await countEntries(pool, schema);
    const dropped = await kind.run('rollback', (tx) =>
      walbox.appendMany(tx.executor, [entry(), entry(), entry()]),
    );
    expect(dropped).toHaveLength(3);
    expect(await Promise.all(dropped.map((e) => committed(e.id)))).toEqual([false, false, false]);
    expect(await countEntries(pool, schema)).toBe(before);
  });
});

describe('append in autocommit mode', () => {
  it('through a pg Pool is visible to other connections as soon as it returns', async () => {
    const e = await walbox.append(pool, entry({ via: 'pool' }));
    const other = new pg.Client({ connectionString: databaseUrl() });
    await other.connect();
    try {
      const { rows } = await other.query(`select payload from "${schema}".entries where id = $1`, [e.id]);
      expect(rows).toEqual([{ payload: { via: 'pool' } }]);
    } finally {
      await other.end();
    }
  });

  it('through a Kysely instance is visible to other connections as soon as it returns', async () => {
    const e = await walbox.append(db, entry({ via: 'kysely' }));
    expect(e.payload).toEqual({ via: 'kysely' });
    expect(await committed(e.id)).toBe(true);
    const many = await walbox.appendMany(db, [entry(), entry()]);
    expect(await Promise.all(many.map((m) => committed(m.id)))).toEqual([true, true]);
  });
});

describe('appendMany is one statement', () => {
  it('stores none of the batch when Postgres rejects one entry in the middle (autocommit)', async () => {
    // Fault injection in the real database: a trigger that fails the insert of one row.
    await pool.query(`
      create function "${biz}".refuse_boom() returns trigger language plpgsql as $$
      begin
        if new.key = 'boom' then raise exception 'refusing key boom'; end if;
        return new;
      end $$`);
    await pool.query(
      `create trigger refuse_boom before insert on "${schema}".entries
         for each row execute function "${biz}".refuse_boom()`,
    );
    try {
      const before = await countEntries(pool, schema);
      const batch = [entry(), entry(), { ...entry(), key: 'boom' }, entry()];
      await expect(walbox.appendMany(pool, batch)).rejects.toThrow(/refusing key boom/);
      await expect(walbox.appendMany(db, batch)).rejects.toThrow(/refusing key boom/);
      expect(await countEntries(pool, schema)).toBe(before);
    } finally {
      await pool.query(`drop trigger refuse_boom on "${schema}".entries`);
    }
  });

  it('rolls back with the transaction when a later business statement fails', async () => {
    const id = `acct-${++seq}`;
    await pool.query(`insert into "${biz}".accounts (id, balance) values ($1, 0)`, [id]);
    let appended: Entry[] = [];
    await expect(
      db.transaction().execute(async (trx) => {
        appended = await walbox.appendMany(trx, [entry(), entry()]);
        // Duplicate primary key: the transaction fails after the append succeeded.
        await trx.withSchema(biz).insertInto('accounts').values({ id, balance: 1 }).execute();
      }),
    ).rejects.toThrow(/duplicate key/);
    expect(appended).toHaveLength(2);
    expect(await Promise.all(appended.map((e) => committed(e.id)))).toEqual([false, false]);
  });
});
