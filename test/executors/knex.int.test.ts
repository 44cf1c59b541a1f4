import knex, { type Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { businessSchema } from '../support/business-schema.js';
import { databaseUrl, isolatedWalbox } from '../support/db.js';
import { describeExecutorCases, type OrmTransactions, type OrmTx } from './support/executor-cases.js';

const { pool, walbox, schema } = await isolatedWalbox('executors-knex');
const biz = await businessSchema(pool, schema);

const db = knex({ client: 'pg', connection: databaseUrl(), pool: { min: 0, max: 5 } });
afterAll(() => db.destroy());

beforeAll(async () => {
  await pool.query(`create table "${biz}".accounts (id text primary key, balance int not null)`);
  await walbox.namespaces.upsert({ name: 'accounts', targets: ['search'] });
});

const ormTx = (trx: Knex.Transaction): OrmTx => ({
  executor: trx, // the Knex transaction itself, as users pass it
  insertAccount: async (id, balance) => {
    await trx.withSchema(biz).insert({ id, balance }).into('accounts');
  },
});

class Thrown extends Error {}

const transactions: OrmTransactions = {
  name: 'Knex',
  instance: db,
  async run(outcome, work) {
    let result: Awaited<ReturnType<typeof work>> | undefined;
    const rolledBack = new Thrown('rolled back');
    try {
      await db.transaction(async (trx) => {
        result = await work(ormTx(trx));
        // trx.rollback(reason) rejects the transaction's promise with the reason.
        if (outcome === 'rollback') await trx.rollback(rolledBack);
        if (outcome === 'throw') throw new Thrown();
      });
    } catch (err) {
      if (outcome === 'commit' || !(err instanceof Thrown)) throw err;
    }
    return result as Awaited<ReturnType<typeof work>>;
  },
  serializable: (work) => db.transaction((trx) => work(ormTx(trx)), { isolationLevel: 'serializable' }),
};

describeExecutorCases(transactions, { walbox, pool, schema, biz, namespace: 'accounts' });

describe('Knex with a postProcessResponse hook', () => {
  // Many Knex users camelCase every result (knex-stringcase, objection's knexSnakeCaseMappers).
  const camel = knex({
    client: 'pg',
    connection: databaseUrl(),
    pool: { min: 0, max: 2 },
    postProcessResponse: (result: unknown) => {
      const rows = (result as { rows?: Record<string, unknown>[] }).rows;
      if (!rows) return result;
      return rows.map((row) =>
        Object.fromEntries(
          Object.entries(row).map(([k, v]) => [k.replace(/_(.)/g, (_, c: string) => c.toUpperCase()), v]),
        ),
      );
    },
  });
  afterAll(() => camel.destroy());

  it("reads pg's rows before the hook reshapes them", async () => {
    const e = await camel.transaction((trx) =>
      walbox.append(trx, {
        namespace: 'accounts',
        key: 'camel',
        op: 'upsert',
        payload: { a: 1 },
        delay: { ms: 60_000 },
      }),
    );
    expect(e.createdAt).toBeInstanceOf(Date);
    expect(e.deliverAt).toBeInstanceOf(Date);
    const { rows } = await pool.query(`select payload from "${schema}".entries where id = $1`, [e.id]);
    expect(rows).toEqual([{ payload: { a: 1 } }]);
  });
});
