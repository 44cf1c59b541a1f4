import { TransactionRollbackError } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import { integer, pgSchema, text } from 'drizzle-orm/pg-core';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { businessSchema } from '../support/business-schema.js';
import { databaseUrl, isolatedWalbox } from '../support/db.js';
import { describeExecutorCases, type OrmTransactions, type OrmTx } from './support/executor-cases.js';

const { pool, walbox, schema } = await isolatedWalbox('executors-drizzle');
const biz = await businessSchema(pool, schema);

const accounts = pgSchema(biz).table('accounts', {
  id: text('id').primaryKey(),
  balance: integer('balance').notNull(),
});

// The application's own pool, as a Drizzle user has it.
const appPool = new pg.Pool({ connectionString: databaseUrl(), max: 5 });
appPool.on('error', () => {}); // an idle client's connection dropped: the pool replaces it
const db = drizzle({ client: appPool });
afterAll(() => appPool.end());

beforeAll(async () => {
  await pool.query(`create table "${biz}".accounts (id text primary key, balance int not null)`);
  await walbox.namespaces.upsert({ name: 'accounts', targets: ['search'] });
});

type Tx = Parameters<Parameters<typeof db.transaction>[0]>[0];
const ormTx = (tx: Tx): OrmTx => ({
  executor: tx, // the Drizzle transaction itself, as users pass it
  insertAccount: async (id, balance) => {
    await tx.insert(accounts).values({ id, balance });
  },
});

class Thrown extends Error {}

const transactions: OrmTransactions = {
  name: 'Drizzle',
  instance: db,
  async run(outcome, work) {
    let result: Awaited<ReturnType<typeof work>> | undefined;
    try {
      await db.transaction(async (tx) => {
        result = await work(ormTx(tx));
        if (outcome === 'rollback') tx.rollback(); // throws TransactionRollbackError
        if (outcome === 'throw') throw new Thrown();
      });
    } catch (err) {
      const expected =
        outcome === 'rollback' ? err instanceof TransactionRollbackError : err instanceof Thrown;
      if (outcome === 'commit' || !expected) throw err;
    }
    return result as Awaited<ReturnType<typeof work>>;
  },
  serializable: (work) => db.transaction((tx) => work(ormTx(tx)), { isolationLevel: 'serializable' }),
};

describeExecutorCases(transactions, { walbox, pool, schema, biz, namespace: 'accounts' });
