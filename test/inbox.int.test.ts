import { describe, expect, it } from 'vitest';
import { InboxError } from '../src/index.js';
import { isolatedWalbox } from './support/db.js';

const { pool, walbox, schema } = await isolatedWalbox('inbox');

/** Runs `fn` in a transaction on its own connection; commits unless `rollback`. */
async function inTransaction<T>(
  fn: (c: import('pg').PoolClient) => Promise<T>,
  end: 'commit' | 'rollback' = 'commit',
) {
  const c = await pool.connect();
  try {
    await c.query('begin');
    const r = await fn(c);
    await c.query(end);
    return r;
  } finally {
    c.release();
  }
}

describe('inbox', () => {
  it('accepts a message id once per inbox; a rolled-back accept leaves it to be accepted again', async () => {
    const orders = walbox.inbox('orders-consumer');
    const audit = walbox.inbox('audit-consumer');
    expect(await inTransaction((c) => orders.accept(c, 'm-1'))).toBe(true);
    expect(await inTransaction((c) => orders.accept(c, 'm-1'))).toBe(false);
    expect(await inTransaction((c) => audit.accept(c, 'm-1'))).toBe(true);
    expect(await inTransaction((c) => orders.accept(c, 'm-2'), 'rollback')).toBe(true);
    expect(await inTransaction((c) => orders.accept(c, 'm-2'))).toBe(true);
    // With the business write in the same transaction: applied once, though delivered three times.
    await pool.query(`create table "${schema}".applied (message_id text)`);
    for (let i = 0; i < 3; i++) {
      await inTransaction(async (c) => {
        if (await orders.accept(c, 'm-3')) await c.query(`insert into "${schema}".applied values ('m-3')`);
      });
    }
    const { rows } = await pool.query(`select count(*)::int as n from "${schema}".applied`);
    expect(rows[0].n).toBe(1);
  });

  it.each(['commit', 'rollback'] as const)(
    'a concurrent accept of the same id waits for the first transaction (%s)',
    async (end) => {
      const inbox = walbox.inbox('concurrent');
      const id = `c-${end}`;
      const first = await pool.connect();
      const second = await pool.connect();
      try {
        await first.query('begin');
        expect(await inbox.accept(first, id)).toBe(true);
        await second.query('begin');
        let settled = false;
        const waiting = inbox.accept(second, id).finally(() => {
          settled = true;
        });
        await new Promise((r) => setTimeout(r, 300));
        expect(settled, 'the second accept waits for the first transaction').toBe(false);
        await first.query(end);
        expect(await waiting).toBe(end === 'rollback');
        await second.query('commit');
      } finally {
        first.release();
        second.release();
      }
    },
  );

  it('refuses REPEATABLE READ and bad message ids with typed errors, bad ids before anything is sent', async () => {
    const inbox = walbox.inbox('strict');
    const err = await inTransaction(async (c) => {
      await c.query('set transaction isolation level repeatable read');
      return inbox.accept(c, 'x').catch((e: unknown) => e);
    }, 'rollback');
    expect(err).toBeInstanceOf(InboxError);
    expect(err).toMatchObject({ code: 'INBOX_ISOLATION', inbox: 'strict' });
    for (const bad of ['', 'a\u0000b', 'é'.repeat(300)]) {
      await inTransaction(async (c) => {
        await expect(inbox.accept(c, bad)).rejects.toMatchObject({ code: 'INVALID_MESSAGE_ID' });
        // Nothing was sent: the caller's transaction is intact.
        await c.query('select 1');
      }, 'rollback');
    }
    expect(() => walbox.inbox('Bad Name')).toThrow(expect.objectContaining({ code: 'INVALID_NAME' }));
    expect(() => walbox.inbox('ok', { retentionDays: 0 })).toThrow(
      expect.objectContaining({ code: 'INVALID_CONFIG' }),
    );
  });

  it('drops day partitions older than the longest inbox retention; a message in one is accepted again', async () => {
    const inbox = walbox.inbox('retained', { retentionDays: 3 });
    expect(await inTransaction((c) => inbox.accept(c, 'today'))).toBe(true);
    // Partitions that ended 8 and 4 days ago: past this inbox's 3 days, but the earlier inboxes of this file
    // keep the default 7, and the longest retention decides.
    const day = (daysAgo: number) => new Date(Date.now() - daysAgo * 86_400_000).toISOString().slice(0, 10);
    for (const ago of [9, 5]) {
      const name = `inbox_messages_p${day(ago).replaceAll('-', '')}`;
      await pool.query(
        `create table "${schema}"."${name}" partition of "${schema}".inbox_messages
           for values from ('${day(ago)}') to ('${day(ago - 1)}')`,
      );
      await pool.query(
        `insert into "${schema}"."${name}" (inbox, message_id, received_at) values ('retained', $1, $2)`,
        [`old-${ago}`, `${day(ago)} 12:00:00+00`],
      );
    }
    const { dropped } = await walbox.maintain();
    expect(dropped).toContain(`inbox_messages_p${day(9).replaceAll('-', '')}`);
    expect(dropped).not.toContain(`inbox_messages_p${day(5).replaceAll('-', '')}`);
    expect(await inTransaction((c) => inbox.accept(c, 'old-9'))).toBe(true);
    expect(await inTransaction((c) => inbox.accept(c, 'old-5'))).toBe(false);
    expect(await inTransaction((c) => inbox.accept(c, 'today'))).toBe(false);
  });
});
