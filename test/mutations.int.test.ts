import { describe, expect, it } from 'vitest';
import type { Entry, MutationStatus } from '../src/index.js';
import { isolatedWalbox } from './support/db.js';
import { FAST, stopAfterEach } from './support/dispatchers.js';
import { RecordingSink, until } from './support/recording-sink.js';

const { pool, walbox } = await isolatedWalbox('mutations');
const running = stopAfterEach();
const RETRY = { limit: 1, initialDelayMs: 50, maxDelayMs: 100 };

/** A recording sink whose store can be down (every batch throws) or refuse entries of one key. */
function store(name: string) {
  const sink = new RecordingSink(name);
  const state = { down: false, refuseKey: undefined as string | undefined };
  sink.fault = (batch) => {
    if (state.down) return new Error(`${name} is down`);
    const bad = batch.filter((e) => e.key === state.refuseKey);
    return bad.length > 0
      ? { failed: bad.map((e) => ({ id: e.id, error: new Error(`${name} refuses ${e.key}`) })) }
      : undefined;
  };
  return { sink, state };
}

/** One user mutation: a user row and its order, in two namespaces, in one transaction. */
async function signUp(user: string, n: number): Promise<Entry[]> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    const entries = await walbox.appendMany(client, [
      { namespace: `users${n}`, key: user, op: 'upsert', payload: { name: user } },
      { namespace: `orders${n}`, key: `${user}-o1`, op: 'upsert', payload: { user } },
      { namespace: `users${n}`, key: user, op: 'upsert', payload: { name: user, plan: 'pro' } },
    ]);
    await client.query('commit');
    return entries;
  } finally {
    client.release();
  }
}

const states = (m: MutationStatus) => m.parts.map((p) => `${p.namespace}/${p.key}@${p.target}:${p.state}`);

describe('mutations', () => {
  it('reports a mutation over two namespaces and three targets as incomplete while one store is down, complete once it is back', async () => {
    await walbox.namespaces.upsert({
      name: 'users1',
      targets: ['replica', 'cache'],
      partitions: 2,
      retry: { limit: 50, initialDelayMs: 50, maxDelayMs: 200 }, // outlasts the outage,
    });
    await walbox.namespaces.upsert({ name: 'orders1', targets: ['rocks'], partitions: 2, retry: RETRY });
    const replica = store('replica');
    const cache = store('cache');
    const rocks = store('rocks');
    cache.state.down = true;
    const entries = await signUp('ada', 1);
    const xid = entries[0]!.xid;
    expect(new Set(entries.map((e) => e.xid))).toEqual(new Set([xid]));

    const before = await walbox.mutations.status(xid);
    expect(before).toMatchObject({ transactionId: xid, found: true, complete: false });
    expect(before.counts).toEqual({ applied: 0, pending: 5, retrying: 0, dead: 0 });

    const d = walbox.dispatcher({
      sinks: { replica: replica.sink, cache: cache.sink, rocks: rocks.sink },
      ...FAST,
    });
    running.push(d);
    await d.start();
    await until(
      async () => {
        const { counts } = await walbox.mutations.status(xid);
        return counts.retrying === 2 && counts.applied === 3;
      },
      20_000,
      'the other stores to apply it while the cache parts retry',
    );
    const down = await walbox.mutations.status(xid);
    expect(down.complete).toBe(false);
    expect(states(down).sort()).toEqual(
      [
        'orders1/ada-o1@rocks:applied',
        'users1/ada@cache:retrying',
        'users1/ada@cache:retrying',
        'users1/ada@replica:applied',
        'users1/ada@replica:applied',
      ].sort(),
    );
    for (const p of down.parts.filter((x) => x.state === 'retrying')) {
      expect(p.attempts).toBeGreaterThan(0);
      expect(p.nextAttemptAt).toBeInstanceOf(Date);
    }

    cache.state.down = false;
    await until(
      async () => (await walbox.mutations.status(xid)).complete,
      20_000,
      'the mutation to complete',
    );
    const done = await walbox.mutations.status({ entryIds: entries.map((e) => e.id) });
    expect(done).toMatchObject({
      transactionId: xid,
      complete: true,
      counts: { applied: 5, pending: 0, retrying: 0, dead: 0 },
    });
    expect(cache.sink.ids()).toEqual(entries.filter((e) => e.namespace.startsWith('users')).map((e) => e.id));
  });

  it('shows a dead-lettered part as dead until it is redriven, then complete', async () => {
    await walbox.namespaces.upsert({
      name: 'users2',
      targets: ['replica', 'cache'],
      partitions: 2,
      retry: RETRY,
    });
    await walbox.namespaces.upsert({ name: 'orders2', targets: ['rocks'], partitions: 2, retry: RETRY });
    const replica = store('replica');
    const cache = store('cache');
    const rocks = store('rocks');
    rocks.state.refuseKey = 'bob-o1';
    const entries = await signUp('bob', 2);
    const xid = entries[0]!.xid;
    const d = walbox.dispatcher({
      sinks: { replica: replica.sink, cache: cache.sink, rocks: rocks.sink },
      ...FAST,
    });
    running.push(d);
    await d.start();
    await until(
      async () => (await walbox.mutations.status(xid)).counts.dead === 1,
      20_000,
      'the dead letter',
    );
    const dead = await walbox.mutations.status(xid);
    expect(dead.complete).toBe(false);
    expect(dead.parts.find((p) => p.state === 'dead')).toMatchObject({
      namespace: 'orders2',
      target: 'rocks',
      attempts: RETRY.limit + 1,
      lastError: expect.stringContaining('rocks refuses bob-o1'),
    });
    expect(dead.counts.applied).toBe(4);

    rocks.state.refuseKey = undefined;
    expect(await walbox.deadLetters.redrive({ target: 'rocks' })).toBe(1);
    await until(
      async () => (await walbox.mutations.status(xid)).complete,
      20_000,
      'the mutation to complete',
    );
  });

  it('replays exactly one mutation, in order, to every target or to one', async () => {
    await walbox.namespaces.upsert({
      name: 'users3',
      targets: ['replica', 'cache'],
      partitions: 2,
      retry: RETRY,
    });
    await walbox.namespaces.upsert({ name: 'orders3', targets: ['rocks'], partitions: 2, retry: RETRY });
    const replica = store('replica');
    const cache = store('cache');
    const rocks = store('rocks');
    const other = await signUp('cy', 3);
    const entries = await signUp('dee', 3);
    const xid = entries[0]!.xid;
    const d = walbox.dispatcher({
      sinks: { replica: replica.sink, cache: cache.sink, rocks: rocks.sink },
      ...FAST,
    });
    running.push(d);
    await d.start();
    await until(async () => (await walbox.mutations.status(xid)).complete, 20_000, 'first delivery');
    await until(
      async () => (await walbox.mutations.status(other[0]!.xid)).complete,
      20_000,
      'first delivery',
    );
    const seen = {
      replica: replica.sink.applied.length,
      cache: cache.sink.applied.length,
      rocks: rocks.sink.applied.length,
    };

    expect(await walbox.replay({ transactionId: xid })).toBe(5);
    await until(
      () =>
        replica.sink.applied.length === seen.replica + 2 &&
        cache.sink.applied.length === seen.cache + 2 &&
        rocks.sink.applied.length === seen.rocks + 1,
      20_000,
      'the replay',
    );
    const users = entries.filter((e) => e.namespace.startsWith('users')).map((e) => e.id);
    expect(replica.sink.applied.slice(seen.replica).map((e) => e.id)).toEqual(users);
    expect(cache.sink.applied.slice(seen.cache).map((e) => e.id)).toEqual(users);
    expect(rocks.sink.applied.slice(seen.rocks).map((e) => e.id)).toEqual([entries[1]!.id]);
    await until(async () => (await walbox.mutations.status(xid)).complete, 20_000, 'complete again');

    expect(await walbox.replay({ transactionId: xid, target: 'rocks' })).toBe(1);
    await until(() => rocks.sink.applied.length === seen.rocks + 2, 20_000, 'the replay to one target');
    expect(replica.sink.applied.length).toBe(seen.replica + 2);
  });

  it('finds nothing for an unknown transaction, and refuses what is not an id', async () => {
    expect(await walbox.mutations.status('999999999')).toMatchObject({
      found: false,
      complete: false,
      parts: [],
    });
    await expect(walbox.mutations.status('12; drop table x')).rejects.toMatchObject({
      code: 'INVALID_CONFIG',
      field: 'transactionId',
    });
    await expect(walbox.mutations.status({ entryIds: [] })).rejects.toMatchObject({
      code: 'INVALID_CONFIG',
      field: 'entryIds',
    });
    await expect(walbox.replay({ transactionId: 'x' })).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
  });
});
