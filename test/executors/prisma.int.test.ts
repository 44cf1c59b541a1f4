import { PrismaPg } from '@prisma/adapter-pg';
import { afterAll, beforeAll } from 'vitest';
import { businessSchema } from '../support/business-schema.js';
import { databaseUrl, isolatedWalbox } from '../support/db.js';
import { describeExecutorCases, type OrmTransactions, type OrmTx } from './support/executor-cases.js';
import { generatePrismaClient, type PrismaTx } from './support/prisma-client.js';

const { pool, walbox, schema } = await isolatedWalbox('executors-prisma');
const biz = await businessSchema(pool, schema);

const PrismaClient = await generatePrismaClient('executors');
// Prisma 7 runs queries through a driver adapter (no query engine binary); `schema` is where its models live.
const adapter = new PrismaPg(
  { connectionString: databaseUrl(), max: 5 },
  { schema: biz, onPoolError: () => {}, onConnectionError: () => {} },
);
const prisma = new PrismaClient({ adapter });
afterAll(() => prisma.$disconnect());

beforeAll(async () => {
  await pool.query(`create table "${biz}".accounts (id text primary key, balance int not null)`);
  await walbox.namespaces.upsert({ name: 'accounts', targets: ['search'] });
});

const ormTx = (tx: PrismaTx): OrmTx => ({
  executor: tx, // the interactive transaction's client itself, as users pass it
  insertAccount: async (id, balance) => {
    await tx.account.create({ data: { id, balance } });
  },
});

class Thrown extends Error {}

const transactions: OrmTransactions = {
  name: 'Prisma',
  instance: prisma,
  async run(outcome, work) {
    let result: Awaited<ReturnType<typeof work>> | undefined;
    try {
      await prisma.$transaction(async (tx) => {
        result = await work(ormTx(tx));
        // Prisma has no explicit rollback: an interactive transaction rolls back when its callback throws.
        if (outcome !== 'commit') throw new Thrown();
      });
    } catch (err) {
      if (outcome === 'commit' || !(err instanceof Thrown)) throw err;
    }
    return result as Awaited<ReturnType<typeof work>>;
  },
  serializable: (work) => prisma.$transaction((tx) => work(ormTx(tx)), { isolationLevel: 'Serializable' }),
};

describeExecutorCases(transactions, { walbox, pool, schema, biz, namespace: 'accounts' });
