import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { type EntryInput, type Executor, InboxError, type Walbox } from '../../../src/index.js';
import { countEntries } from '../../support/entries.js';

/**
 * How one ORM runs a transaction, as its users write it: `work` gets the ORM's own transaction object (what
 * they pass to walbox.append) and a way to insert a business row with the ORM's query builder.
 */
export interface OrmTransactions {
  name: string;
  /**
   * Runs `work` in a transaction of the ORM. 'commit' returns normally; 'rollback' uses the ORM's explicit
   * rollback when it has one (Drizzle's tx.rollback(), Knex's trx.rollback()), else throws; 'throw' throws an
   * error from the callback as application code would. The transaction's error is swallowed when it is the
   * one asked for, so `run` returns what `work` returned.
   */
  run<T>(outcome: 'commit' | 'rollback' | 'throw', work: (tx: OrmTx) => Promise<T>): Promise<T>;
  /** Runs `work` in a SERIALIZABLE transaction of the ORM, committing; its errors propagate. */
  serializable<T>(work: (tx: OrmTx) => Promise<T>): Promise<T>;
  /** The ORM's instance outside any transaction (autocommit). */
  instance: Executor;
}

export interface OrmTx {
  executor: Executor;
  insertAccount(id: string, balance: number): Promise<void>;
}

export interface CaseContext {
  walbox: Walbox;
  pool: pg.Pool;
  schema: string;
  /** The schema of the business table `accounts (id text primary key, balance int not null)`. */
  biz: string;
  /** A namespace that exists, with targets ['search']. */
  namespace: string;
}

/** The cases of test/atomicity.int.test.ts, and the inbox, on an ORM's own transactions. */
export function describeExecutorCases(orm: OrmTransactions, ctx: CaseContext): void {
  const { walbox, pool, schema, biz, namespace } = ctx;
  let seq = 0;
  const entry = (payload: unknown = { n: ++seq }): EntryInput => ({
    namespace,
    key: `k${++seq}`,
    op: 'upsert',
    payload,
  });
  const committed = async (id: string) =>
    (await pool.query(`select 1 from "${schema}".entries where id = $1`, [id])).rows.length === 1;
  const accountCommitted = async (id: string) =>
    (await pool.query(`select 1 from "${biz}".accounts where id = $1`, [id])).rows.length === 1;

  describe(`append on a ${orm.name} transaction`, () => {
    it('returns the entry as with a pg executor, and makes it durable when the transaction commits', async () => {
      const e = await orm.run('commit', async (tx) => {
        const appended = await walbox.append(tx.executor, entry({ step: 'commit' }));
        expect(await committed(appended.id)).toBe(false);
        return appended;
      });
      expect(e).toMatchObject({ namespace, op: 'upsert', payload: { step: 'commit' }, duplicate: false });
      expect(e.id).toMatch(/^\d+$/);
      expect(e.xid).toMatch(/^\d+$/);
      expect(e.createdAt).toBeInstanceOf(Date);
      expect(e.targets).toEqual(['search']);
      expect(await committed(e.id)).toBe(true);
      const { rows } = await pool.query(`select payload, targets from "${schema}".entries where id = $1`, [
        e.id,
      ]);
      expect(rows).toEqual([{ payload: { step: 'commit' }, targets: ['search'] }]);
    });

    it('commits together with the business row', async () => {
      const id = `acct-${++seq}`;
      const e = await orm.run('commit', async (tx) => {
        await tx.insertAccount(id, 10);
        return walbox.append(tx.executor, { namespace, key: id, op: 'upsert', payload: { id } });
      });
      expect(await accountCommitted(id)).toBe(true);
      expect(await committed(e.id)).toBe(true);
    });

    for (const outcome of ['rollback', 'throw'] as const) {
      const how = outcome === 'rollback' ? 'the transaction rolls back' : 'the callback throws';
      it(`keeps neither the entry nor the business row when ${how}`, async () => {
        const id = `acct-${++seq}`;
        const before = await countEntries(pool, schema);
        const e = await orm.run(outcome, async (tx) => {
          await tx.insertAccount(id, 10);
          return walbox.append(tx.executor, { namespace, key: id, op: 'upsert', payload: { id } });
        });
        expect(await accountCommitted(id)).toBe(false);
        expect(await committed(e.id)).toBe(false);
        expect(await countEntries(pool, schema)).toBe(before);
      });
    }

    it('appendMany commits all entries with the business row, or none on rollback', async () => {
      const kept = await orm.run('commit', async (tx) => {
        await tx.insertAccount(`acct-${++seq}`, 1);
        return walbox.appendMany(tx.executor, [entry(), entry(), entry()]);
      });
      expect(kept.map((e) => e.id)).toEqual([...kept.map((e) => e.id)].sort((a, b) => Number(a) - Number(b)));
      expect(await Promise.all(kept.map((e) => committed(e.id)))).toEqual([true, true, true]);

      const before = await countEntries(pool, schema);
      const dropped = await orm.run('throw', (tx) => walbox.appendMany(tx.executor, [entry(), entry()]));
      expect(dropped).toHaveLength(2);
      expect(await Promise.all(dropped.map((e) => committed(e.id)))).toEqual([false, false]);
      expect(await countEntries(pool, schema)).toBe(before);
    });

    it('rolls back the appends when a later statement of the ORM fails', async () => {
      const id = `acct-${++seq}`;
      await pool.query(`insert into "${biz}".accounts (id, balance) values ($1, 0)`, [id]);
      let appended: { id: string }[] = [];
      await expect(
        orm.run('commit', async (tx) => {
          appended = await walbox.appendMany(tx.executor, [entry(), entry()]);
          await tx.insertAccount(id, 1); // duplicate primary key
        }),
      ).rejects.toThrow();
      expect(appended).toHaveLength(2);
      expect(await Promise.all(appended.map((e) => committed(e.id)))).toEqual([false, false]);
    });

    it('returns the first entry for a repeated idempotency key, with the stored values', async () => {
      const idempotencyKey = `idem-${++seq}`;
      const first = await orm.run('commit', (tx) =>
        walbox.append(tx.executor, { ...entry({ v: 1 }), idempotencyKey, delay: { ms: 3_600_000 } }),
      );
      const again = await orm.run('commit', (tx) =>
        walbox.append(tx.executor, { ...entry({ v: 2 }), idempotencyKey }),
      );
      expect(again).toMatchObject({ id: first.id, duplicate: true, payload: { v: 1 } });
      // A duplicate is read back from the log: the timestamps are Dates as pg parses them.
      expect(first.deliverAt).toBeInstanceOf(Date);
      expect(again.deliverAt).toEqual(first.deliverAt);
      expect(again.createdAt).toEqual(first.createdAt);
    });
  });

  describe(`the ${orm.name} instance outside a transaction`, () => {
    it('appends in autocommit mode', async () => {
      const e = await walbox.append(orm.instance, entry({ via: 'instance' }));
      expect(await committed(e.id)).toBe(true);
      const many = await walbox.appendMany(orm.instance, [entry(), entry()]);
      expect(await Promise.all(many.map((m) => committed(m.id)))).toEqual([true, true]);
    });
  });

  describe(`inbox.accept on a ${orm.name} transaction`, () => {
    const inbox = walbox.inbox(`orders-${orm.name.toLowerCase().replace(/[^a-z]/g, '')}`);

    it('accepts a message once per committed transaction, again after a rollback', async () => {
      expect(await orm.run('throw', (tx) => inbox.accept(tx.executor, 'm1'))).toBe(true);
      expect(await orm.run('commit', (tx) => inbox.accept(tx.executor, 'm1'))).toBe(true);
      expect(await orm.run('commit', (tx) => inbox.accept(tx.executor, 'm1'))).toBe(false);
    });

    it("raises walbox's typed error through the ORM's error", async () => {
      const err = await orm.serializable((tx) => inbox.accept(tx.executor, 'm2')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InboxError);
      expect(err).toMatchObject({ code: 'INBOX_ISOLATION' });
      // The message Postgres raised, without the query an ORM puts before it.
      expect((err as Error).message).toMatch(/accept needs READ COMMITTED, not SERIALIZABLE$/);
      expect((err as Error).message).not.toMatch(/inbox_accept\(/);
    });
  });
}
