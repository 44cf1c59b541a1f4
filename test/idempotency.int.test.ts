import type pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Entry } from '../src/index.js';
import { isolatedWalbox } from './support/db.js';
import { countEntries } from './support/entries.js';

const { pool, walbox, schema } = await isolatedWalbox('idempotency');

beforeAll(async () => {
  await walbox.namespaces.upsert({ name: 'orders' });
  await walbox.namespaces.upsert({ name: 'invoices' });
});

let seq = 0;
const unique = (prefix: string) => `${prefix}-${++seq}`;

async function entriesWithIdempotencyKey(namespace: string, idempotencyKey: string) {
  const { rows } = await pool.query<{ id: string; payload: unknown }>(
    `select id, payload from "${schema}".entries where namespace = $1 and idempotency_key = $2 order by id`,
    [namespace, idempotencyKey],
  );
  return rows;
}

describe('idempotency keys', () => {
  it('a second append with the same key returns the first entry and appends nothing', async () => {
    const idem = unique('req');
    const first = await walbox.append(pool, {
      namespace: 'orders',
      key: 'o1',
      op: 'upsert',
      payload: { attempt: 1 },
      idempotencyKey: idem,
    });
    expect(first.idempotencyKey).toBe(idem);
    const before = await countEntries(pool, schema);

    const retry = await walbox.append(pool, {
      namespace: 'orders',
      key: 'o1',
      op: 'upsert',
      payload: { attempt: 2 },
      idempotencyKey: idem,
    });
    expect(retry).toEqual({ ...first, duplicate: true });
    expect(first.duplicate).toBe(false);
    // The key identifies the request, whatever else the retry carries.
    const other = await walbox.append(pool, {
      namespace: 'orders',
      key: 'o2',
      op: 'delete',
      idempotencyKey: idem,
    });
    expect(other.id).toBe(first.id);
    expect(other.payload).toEqual({ attempt: 1 });
    expect(await countEntries(pool, schema)).toBe(before);
    expect(await entriesWithIdempotencyKey('orders', idem)).toEqual([
      { id: first.id, payload: { attempt: 1 } },
    ]);
  });

  it('entries without an idempotency key are always appended', async () => {
    const before = await countEntries(pool, schema, 'orders');
    const e = { namespace: 'orders', key: 'same', op: 'upsert', payload: { same: true } };
    const [a, b] = [await walbox.append(pool, e), await walbox.append(pool, e)];
    expect(a.id).not.toBe(b.id);
    expect(await countEntries(pool, schema, 'orders')).toBe(before + 2);
  });

  it('different namespaces may reuse a key', async () => {
    const idem = unique('shared');
    const order = await walbox.append(pool, {
      namespace: 'orders',
      key: 'x',
      op: 'upsert',
      idempotencyKey: idem,
    });
    const invoice = await walbox.append(pool, {
      namespace: 'invoices',
      key: 'x',
      op: 'upsert',
      idempotencyKey: idem,
    });
    expect(invoice.id).not.toBe(order.id);
    expect(invoice.namespace).toBe('invoices');
    expect(await entriesWithIdempotencyKey('orders', idem)).toHaveLength(1);
    expect(await entriesWithIdempotencyKey('invoices', idem)).toHaveLength(1);
  });

  it('duplicates within one appendMany batch store the first and return it for each duplicate', async () => {
    const [x, y] = [unique('x'), unique('y')];
    const before = await countEntries(pool, schema);
    const result = await walbox.appendMany(pool, [
      { namespace: 'orders', key: 'a', op: 'upsert', payload: { n: 0 }, idempotencyKey: x },
      { namespace: 'orders', key: 'b', op: 'upsert', payload: { n: 1 }, idempotencyKey: y },
      { namespace: 'orders', key: 'c', op: 'upsert', payload: { n: 2 }, idempotencyKey: x },
      { namespace: 'invoices', key: 'd', op: 'upsert', payload: { n: 3 }, idempotencyKey: x },
      { namespace: 'orders', key: 'e', op: 'upsert', payload: { n: 4 } },
    ]);
    expect(result.map((e) => e.payload)).toEqual([{ n: 0 }, { n: 1 }, { n: 0 }, { n: 3 }, { n: 4 }]);
    expect(result[2]!.id).toBe(result[0]!.id);
    expect(new Set(result.map((e) => e.id)).size).toBe(4);
    expect(await countEntries(pool, schema)).toBe(before + 4);

    // A later batch that repeats an existing key gets the stored entry back in its place.
    const again = await walbox.appendMany(pool, [
      { namespace: 'orders', key: 'f', op: 'upsert', payload: { n: 5 } },
      { namespace: 'orders', key: 'b', op: 'upsert', payload: { n: 6 }, idempotencyKey: y },
    ]);
    expect(again[1]).toEqual({ ...result[1], duplicate: true });
    expect(result.map((e) => e.duplicate)).toEqual([false, false, true, false, false]);
    expect(again[0]!.payload).toEqual({ n: 5 });
    expect(await countEntries(pool, schema)).toBe(before + 5);
  });

  it('a key whose transaction rolled back is free again', async () => {
    const idem = unique('retry');
    const client = await pool.connect();
    try {
      await client.query('begin');
      await walbox.append(client, { namespace: 'orders', key: 'r', op: 'upsert', idempotencyKey: idem });
      await client.query('rollback');
    } finally {
      client.release();
    }
    const e = await walbox.append(pool, {
      namespace: 'orders',
      key: 'r',
      op: 'upsert',
      payload: { second: true },
      idempotencyKey: idem,
    });
    expect(await entriesWithIdempotencyKey('orders', idem)).toEqual([
      { id: e.id, payload: { second: true } },
    ]);
  });
});

/** Resolves once `pid`'s current statement is waiting for a lock held by `holderPid`. */
async function blockedBy(pid: number, holderPid: number): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const { rows } = await pool.query<{ pids: number[] }>('select pg_blocking_pids($1) as pids', [pid]);
    if (rows[0]!.pids.includes(holderPid)) return;
    if (Date.now() > deadline) throw new Error(`backend ${pid} never waited for ${holderPid}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function backendPid(client: pg.PoolClient): Promise<number> {
  const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid');
  return rows[0]!.pid;
}

/**
 * Two transactions on separate connections append with the same idempotency key: the first appends and stays
 * open; the second's append is started and seen waiting on the first's lock. `body` then ends the first
 * transaction and checks what the second append returns.
 */
async function race(sameOrderingKey: boolean, body: (race: Race) => Promise<void>) {
  const idem = unique('race');
  const [first, second] = [await pool.connect(), await pool.connect()];
  let secondAppend: Promise<Entry> | undefined;
  try {
    await first.query('begin');
    await second.query('begin');
    const firstEntry = await walbox.append(first, {
      namespace: 'orders',
      key: 'first',
      op: 'upsert',
      payload: { by: 'first' },
      idempotencyKey: idem,
    });
    let settled = false;
    secondAppend = walbox
      .append(second, {
        namespace: 'orders',
        key: sameOrderingKey ? 'first' : 'second',
        op: 'upsert',
        payload: { by: 'second' },
        idempotencyKey: idem,
      })
      .finally(() => {
        settled = true;
      });
    await blockedBy(await backendPid(second), await backendPid(first));
    expect(settled).toBe(false);
    await body({
      idem,
      firstEntry,
      secondAppend,
      endFirst: (how) => first.query(how).then(() => {}),
      commitSecond: () => second.query('commit').then(() => {}),
    });
  } finally {
    await first.query('rollback');
    await secondAppend?.catch(() => {});
    await second.query('rollback');
    first.release();
    second.release();
  }
}

interface Race {
  idem: string;
  firstEntry: Entry;
  secondAppend: Promise<Entry>;
  endFirst(how: 'commit' | 'rollback'): Promise<void>;
  commitSecond(): Promise<void>;
}

describe.each([
  { keys: 'different ordering keys', sameOrderingKey: false },
  { keys: 'the same ordering key', sameOrderingKey: true },
])('concurrent appends with one idempotency key and $keys', ({ sameOrderingKey }) => {
  it("the second waits, then returns the first's entry once the first commits", async () => {
    await race(sameOrderingKey, async ({ idem, firstEntry, secondAppend, endFirst, commitSecond }) => {
      await endFirst('commit');
      const got = await secondAppend;
      expect(got.id).toBe(firstEntry.id);
      expect(got.payload).toEqual({ by: 'first' });
      await commitSecond();
      expect(await entriesWithIdempotencyKey('orders', idem)).toEqual([
        { id: firstEntry.id, payload: { by: 'first' } },
      ]);
    });
  });

  it("the second's append wins when the first rolls back", async () => {
    await race(sameOrderingKey, async ({ idem, firstEntry, secondAppend, endFirst, commitSecond }) => {
      await endFirst('rollback');
      const got = await secondAppend;
      expect(got.id).not.toBe(firstEntry.id);
      expect(got.payload).toEqual({ by: 'second' });
      await commitSecond();
      expect(await entriesWithIdempotencyKey('orders', idem)).toEqual([
        { id: got.id, payload: { by: 'second' } },
      ]);
    });
  });
});
