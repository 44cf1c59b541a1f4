import { describe, expect, it } from 'vitest';
import { NamespaceBusyError, type NamespaceConfigInput } from '../src/index.js';
import { isolatedWalbox } from './support/db.js';
import { FAST, stopAfterEach } from './support/dispatchers.js';
import { RecordingSink, until } from './support/recording-sink.js';

const { pool, walbox, schema } = await isolatedWalbox('namespaces');
const running = stopAfterEach();

/** Appends `n` entries (own transactions) over a few keys, so that they land in several partitions. */
async function appendSome(namespace: string, n: number, payload: (i: number) => unknown = (i) => ({ i })) {
  for (let i = 0; i < n; i++) {
    await walbox.append(pool, { namespace, key: `k${i % 4}`, op: 'upsert', payload: payload(i) });
  }
}

/** The stored row, read without walbox's cache. */
async function row(name: string) {
  const { rows } = await pool.query<{ partitions: number; ordering: string; retention_hours: number }>(
    `select partitions, ordering, retention_hours, targets from "${schema}".namespaces where name = $1`,
    [name],
  );
  return rows[0]!;
}

/** Until the audit view shows every entry of `namespace` in a final state for `target`. */
async function untilAudit(namespace: string, target: string, done: string[] = ['applied']) {
  await until(
    async () => {
      const { rows } = await pool.query<{ n: number }>(
        `select count(*)::int as n from "${schema}".audit
          where namespace = $1 and not (delivery ->> $2 = any($3::text[]))`,
        [namespace, target, done],
      );
      return rows[0]!.n === 0;
    },
    20_000,
    `${target} to finish ${namespace}`,
  );
}

async function dispatch(sinks: Record<string, RecordingSink>) {
  const d = walbox.dispatcher({ sinks, ...FAST });
  running.push(d);
  await d.start();
  return d;
}

async function busy(config: NamespaceConfigInput): Promise<NamespaceBusyError> {
  const err = await walbox.namespaces.upsert(config).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(NamespaceBusyError);
  return err as NamespaceBusyError;
}

describe('changing partitions or ordering of a namespace', () => {
  it('is refused while entries are undelivered, and nothing of the upsert is written', async () => {
    await walbox.namespaces.upsert({ name: 'pending', targets: ['a'], partitions: 2, retentionHours: 24 });
    await appendSome('pending', 5);

    const change = walbox.namespaces.upsert({
      name: 'pending',
      targets: ['a'],
      partitions: 4,
      retentionHours: 48,
    });
    await expect(change).rejects.toMatchObject({ code: 'NAMESPACE_BUSY', namespace: 'pending', pending: 5 });
    const err = await busy({ name: 'pending', targets: ['a'], partitions: 4, retentionHours: 48 });
    expect(err.message).toMatch(/^namespace "pending" has 5 undelivered entries/);
    expect(err.message).toContain('force');
    expect(await row('pending')).toMatchObject({ partitions: 2, retention_hours: 24, targets: ['a'] });
    expect(await walbox.namespaces.get('pending')).toMatchObject({ partitions: 2, retentionHours: 24 });

    // ordering too: with one partition, 'key' -> 'namespace'.
    await walbox.namespaces.upsert({ name: 'single', targets: ['a'] });
    await appendSome('single', 1);
    await busy({ name: 'single', targets: ['a'], ordering: 'namespace' });
    expect(await row('single')).toMatchObject({ ordering: 'key', partitions: 1 });
  });

  it('succeeds once a dispatcher has delivered everything to every target', async () => {
    await walbox.namespaces.upsert({ name: 'drained', targets: ['a', 'b'], partitions: 2 });
    await appendSome('drained', 10);
    await busy({ name: 'drained', targets: ['a', 'b'], partitions: 4 });

    const a = new RecordingSink('a');
    const b = new RecordingSink('b');
    await dispatch({ a, b });
    await untilAudit('drained', 'a');
    await untilAudit('drained', 'b');

    const changed = await walbox.namespaces.upsert({ name: 'drained', targets: ['a', 'b'], partitions: 4 });
    expect(changed.partitions).toBe(4);
    expect(await row('drained')).toMatchObject({ partitions: 4 });
    // And new entries keep flowing, through the new partitions.
    await appendSome('drained', 4);
    await until(() => a.applied.length >= 14 && b.applied.length >= 14, 20_000, 'the new entries');
  });

  it('is refused when one target has applied everything and another has not', async () => {
    await walbox.namespaces.upsert({ name: 'split', targets: ['a', 'b'], partitions: 2 });
    await appendSome('split', 6);
    await dispatch({ a: new RecordingSink('a') }); // nobody serves b
    await untilAudit('split', 'a');

    const err = await busy({ name: 'split', targets: ['a', 'b'], partitions: 3 });
    expect(err.pending).toBe(6);
    expect(await row('split')).toMatchObject({ partitions: 2 });
  });

  it('lets other fields change while entries are undelivered', async () => {
    await walbox.namespaces.upsert({ name: 'tweak', targets: ['a'], partitions: 2 });
    await appendSome('tweak', 3);
    const changed = await walbox.namespaces.upsert({
      name: 'tweak',
      targets: ['a', 'b'],
      partitions: 2,
      retry: { limit: 3, initialDelayMs: 10, maxDelayMs: 100 },
      onExhausted: 'block',
    });
    expect(changed).toMatchObject({ targets: ['a', 'b'], retry: { limit: 3 }, onExhausted: 'block' });
    expect(await walbox.namespaces.get('tweak')).toMatchObject({ targets: ['a', 'b'], retry: { limit: 3 } });
  });

  it('goes through with force: true', async () => {
    await walbox.namespaces.upsert({ name: 'forced', targets: ['a'], partitions: 2 });
    await appendSome('forced', 3);
    const changed = await walbox.namespaces.upsert(
      { name: 'forced', targets: ['a'], partitions: 8 },
      { force: true },
    );
    expect(changed.partitions).toBe(8);
    expect(await row('forced')).toMatchObject({ partitions: 8 });
  });

  it('waits for an uncommitted append, then counts it', async () => {
    await walbox.namespaces.upsert({ name: 'race', targets: ['a'], partitions: 2 });
    const producer = await pool.connect();
    try {
      await producer.query('begin');
      await walbox.append(producer, { namespace: 'race', key: 'k1', op: 'upsert', payload: { v: 1 } });

      let settled = false;
      const change = walbox.namespaces.upsert({ name: 'race', targets: ['a'], partitions: 4 }).finally(() => {
        settled = true;
      });
      change.catch(() => {}); // asserted below
      await new Promise((r) => setTimeout(r, 300));
      expect(settled).toBe(false); // blocked on the namespace lock the append holds
      await producer.query('commit');

      await expect(change).rejects.toMatchObject({ code: 'NAMESPACE_BUSY', pending: 1 });
      expect(await row('race')).toMatchObject({ partitions: 2 });
    } finally {
      producer.release();
    }
  });

  it('gives up after lock_timeout on a transaction left open, as NAMESPACE_BUSY', async () => {
    await walbox.namespaces.upsert({ name: 'stuck', targets: ['a'], partitions: 2 });
    const producer = await pool.connect();
    const operator = await pool.connect();
    try {
      await producer.query('begin');
      await walbox.append(producer, { namespace: 'stuck', key: 'k1', op: 'upsert' });
      await operator.query(`set lock_timeout = '200ms'`);
      const err = await operator
        .query(
          `select * from "${schema}".upsert_namespace('stuck', 'key', 4, '{a}', '{"limit":1,"initialDelayMs":0,"maxDelayMs":0,"multiplier":2}', 'dead-letter', 1024, 24)`,
        )
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'WB011' });
      expect((err as Error).message).toMatch(/busy: a transaction appending to it stayed open/);
      // The producer was not disturbed, and its entry is in the old partitioning.
      await producer.query('commit');
      expect(await row('stuck')).toMatchObject({ partitions: 2 });
    } finally {
      producer.release();
      await operator.query('reset lock_timeout');
      operator.release();
    }
  });

  it('does not count dead-lettered entries, but counts blocking ones', async () => {
    const retry = { limit: 0, initialDelayMs: 0, maxDelayMs: 0 };
    await walbox.namespaces.upsert({ name: 'dead', targets: ['a'], partitions: 2, retry });
    await walbox.namespaces.upsert({
      name: 'blocked',
      targets: ['a'],
      partitions: 2,
      retry,
      onExhausted: 'block',
    });
    const poison = (i: number) => (i === 0 ? { poison: true } : { i });
    await appendSome('dead', 3, poison);
    await appendSome('blocked', 3, poison);

    const a = new RecordingSink('a');
    a.fault = (batch) => ({
      failed: batch
        .filter((e) => (e.payload as { poison?: boolean } | null)?.poison === true)
        .map((e) => ({ id: e.id, error: new Error('poison') })),
    });
    await dispatch({ a });
    await untilAudit('dead', 'a', ['applied', 'dead']);
    await untilAudit('blocked', 'a', ['applied', 'dead']);
    const { rows } = await pool.query<{ namespace: string; status: string }>(
      `select namespace, status from "${schema}".dead_letters where namespace in ('dead', 'blocked') order by 1`,
    );
    expect(rows).toEqual([
      { namespace: 'blocked', status: 'blocking' },
      { namespace: 'dead', status: 'dead' },
    ]);

    const changed = await walbox.namespaces.upsert({ name: 'dead', targets: ['a'], partitions: 4, retry });
    expect(changed.partitions).toBe(4);
    const err = await busy({ name: 'blocked', targets: ['a'], partitions: 4, retry, onExhausted: 'block' });
    expect(err.pending).toBe(1);
  });
});

describe('the namespace cache', () => {
  it('keeps a change made in this process, even when a read that began before it returns after it', async () => {
    await walbox.namespaces.upsert({ name: 'cache-race', targets: ['t'], onExhausted: 'dead-letter' });
    walbox.namespaces.forget('cache-race');
    // A read (as a drain's step makes) whose row arrives only after the upsert below has committed.
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow = {
      query: async <R>(text: string, values?: readonly unknown[]) => {
        const result = await pool.query(text, values as unknown[]);
        await gate;
        return { rows: result.rows as R[] };
      },
    };
    const before = walbox.namespaces.require('cache-race', slow);
    await new Promise((r) => setTimeout(r, 100)); // its query has run: it holds the old row
    await walbox.namespaces.upsert({ name: 'cache-race', targets: ['t'], onExhausted: 'block' });
    release();
    expect((await before).onExhausted).toBe('dead-letter'); // what it read, for its own caller
    // The cache holds the change, not the older row that came back after it.
    const never = { query: () => Promise.reject(new Error('should be a cache hit')) };
    expect((await walbox.namespaces.require('cache-race', never)).onExhausted).toBe('block');
  });
});
