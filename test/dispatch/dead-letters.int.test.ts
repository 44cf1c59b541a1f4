import { describe, expect, it } from 'vitest';
import type { DispatcherEvents, Entry } from '../../src/index.js';
import { isolatedWalbox } from '../support/db.js';
import { FAST, stopAfterEach } from '../support/dispatchers.js';
import { RecordingSink, until } from '../support/recording-sink.js';

const { pool, walbox, schema } = await isolatedWalbox('dead-letters');
const RETRY = { limit: 2, initialDelayMs: 50, maxDelayMs: 200 };
const running = stopAfterEach();

async function started(sinks: Record<string, RecordingSink>) {
  const d = walbox.dispatcher({ sinks, ...FAST });
  running.push(d);
  const deadLettered: DispatcherEvents['dead-lettered'][0][] = [];
  d.on('dead-lettered', (e) => deadLettered.push(e));
  await d.start();
  return { d, deadLettered };
}

/** A sink that fails every entry whose payload says `bad`, until healed. */
function failingSink(name: string) {
  const sink = new RecordingSink(name);
  const state = { healed: false };
  sink.fault = (batch) => {
    if (state.healed) return undefined;
    const bad = batch.filter((e) => (e.payload as { bad?: boolean } | null)?.bad === true);
    return { failed: bad.map((e) => ({ id: e.id, error: new Error(`cannot store ${e.key}`) })) };
  };
  return { sink, heal: () => (state.healed = true) };
}

async function delivery(id: string): Promise<Record<string, string>> {
  const { rows } = await pool.query<{ delivery: Record<string, string> }>(
    `select delivery from "${schema}".audit where id = $1`,
    [id],
  );
  return rows[0]!.delivery;
}

async function untilDelivery(entries: readonly Entry[], target: string, status: string) {
  await until(
    async () => {
      for (const e of entries) if ((await delivery(e.id))[target] !== status) return false;
      return true;
    },
    20_000,
    `audit to show ${status} for ${entries.map((e) => e.id).join(', ')}`,
  );
}

const has = (sink: RecordingSink, entries: readonly Entry[]) =>
  entries.every((e) => sink.ids().includes(e.id));

describe("dead letters, onExhausted 'dead-letter'", () => {
  it('lists the exhausted entry, lets its key move on; redrive delivers it again, discard closes it', async () => {
    await walbox.namespaces.upsert({
      name: 'profiles',
      targets: ['dl'],
      retry: RETRY,
      onExhausted: 'dead-letter',
    });
    const { sink, heal } = failingSink('dl');
    const [bad, next1, other, next2] = await walbox.appendMany(pool, [
      { namespace: 'profiles', key: 'p1', op: 'upsert', payload: { name: 'Ada', bad: true }, actor: 'alice' },
      { namespace: 'profiles', key: 'p1', op: 'upsert', payload: { name: 'Ada L.' } },
      { namespace: 'profiles', key: 'p2', op: 'upsert', payload: { name: 'Bob' } },
      { namespace: 'profiles', key: 'p1', op: 'upsert', payload: { name: 'Ada Lovelace' } },
    ]);
    const beforeFirstFailure = new Date(Date.now() - 1000);
    const { deadLettered } = await started({ dl: sink });

    await until(() => has(sink, [next1!, other!, next2!]), 20_000, 'the key to move on');
    expect(sink.byKey().get('p1')).toEqual([next1!.id, next2!.id]);
    expect(sink.ids()).not.toContain(bad!.id);
    expect(deadLettered).toHaveLength(1);
    expect(deadLettered[0]).toMatchObject({ target: 'dl', attempts: RETRY.limit + 1, blocked: false });
    expect(deadLettered[0]!.entry.id).toBe(bad!.id);

    const [letter, ...more] = await walbox.deadLetters.list();
    expect(more).toEqual([]);
    expect(letter).toMatchObject({
      entryId: bad!.id,
      namespace: 'profiles',
      target: 'dl',
      partition: bad!.partition,
      key: 'p1',
      status: 'dead',
      attempts: RETRY.limit + 1,
      lastError: 'Error: cannot store p1',
      resolvedAt: null,
    });
    // The copy of the entry as appended.
    expect(letter!.entry).toMatchObject({
      id: bad!.id,
      namespace: 'profiles',
      key: 'p1',
      op: 'upsert',
      payload: { name: 'Ada', bad: true },
      actor: 'alice',
      xid: bad!.xid,
    });
    expect(letter!.entry.createdAt.getTime()).toBe(bad!.createdAt.getTime());
    expect(letter!.firstFailedAt).toBeInstanceOf(Date);
    expect(letter!.firstFailedAt!.getTime()).toBeGreaterThan(beforeFirstFailure.getTime());
    // Attempts 1..3 were separated by backoff, so the last failure comes well after the first.
    expect(letter!.lastFailedAt.getTime()).toBeGreaterThan(letter!.firstFailedAt!.getTime());
    expect(await walbox.deadLetters.list({ namespace: 'profiles', key: 'p2' })).toEqual([]);
    expect(await walbox.deadLetters.list({ target: 'other' })).toEqual([]);

    await untilDelivery([bad!], 'dl', 'dead');
    await untilDelivery([next1!, other!, next2!], 'dl', 'applied');

    // The store is fixed: redrive hands the entry to the sink again.
    heal();
    expect(await walbox.deadLetters.redrive([letter!.id])).toBe(1);
    await until(() => sink.ids().includes(bad!.id), 20_000, 'the redriven entry');
    expect(sink.applied.filter((e) => e.id === bad!.id)).toHaveLength(1);
    expect(await walbox.deadLetters.list()).toEqual([]);
    const [redriven] = await walbox.deadLetters.list({ status: ['redriven'] });
    expect(redriven).toMatchObject({ id: letter!.id, status: 'redriven' });
    expect(redriven!.resolvedAt).toBeInstanceOf(Date);
    await untilDelivery([bad!], 'dl', 'applied');
    // A second redrive of a resolved letter does nothing.
    expect(await walbox.deadLetters.redrive([letter!.id])).toBe(0);

    // Discard: another entry exhausts its retries and is given up on for good.
    sink.fault = (batch) => {
      const doomed = batch.filter((e) => e.key === 'p3' && (e.payload as { bad?: boolean }).bad);
      return { failed: doomed.map((e) => ({ id: e.id, error: new Error('still broken') })) };
    };
    const [doomed, after] = await walbox.appendMany(pool, [
      { namespace: 'profiles', key: 'p3', op: 'upsert', payload: { bad: true } },
      { namespace: 'profiles', key: 'p3', op: 'upsert', payload: { ok: true } },
    ]);
    await until(() => has(sink, [after!]), 20_000, 'p3 to move on');
    const [open] = await walbox.deadLetters.list({ key: 'p3' });
    expect(open).toMatchObject({ entryId: doomed!.id, status: 'dead', lastError: 'Error: still broken' });
    expect(await walbox.deadLetters.discard([open!.id])).toBe(1);
    expect(await walbox.deadLetters.list()).toEqual([]);
    const [discarded] = await walbox.deadLetters.list({ status: ['discarded'] });
    expect(discarded).toMatchObject({ id: open!.id, entryId: doomed!.id, status: 'discarded' });
    expect(discarded!.resolvedAt).toBeInstanceOf(Date);
    expect(await walbox.deadLetters.redrive([open!.id])).toBe(0); // discarded is final
    expect(await walbox.deadLetters.discard([open!.id])).toBe(0);
    expect(sink.ids()).not.toContain(doomed!.id);
    // Discarded is not applied: the audit keeps saying the target never got it.
    await untilDelivery([after!], 'dl', 'applied');
    expect(await delivery(doomed!.id)).toEqual({ dl: 'dead' });
  });
});

describe("dead letters, onExhausted 'block'", () => {
  it('holds back the rest of the key while other keys flow; redrive delivers the blocked entry, then the held ones in order', async () => {
    await walbox.namespaces.upsert({ name: 'accounts', targets: ['bl'], retry: RETRY, onExhausted: 'block' });
    const { sink, heal } = failingSink('bl');
    const [head, held1, other1, held2] = await walbox.appendMany(pool, [
      { namespace: 'accounts', key: 'a1', op: 'upsert', payload: { balance: 1, bad: true } },
      { namespace: 'accounts', key: 'a1', op: 'upsert', payload: { balance: 2 } },
      { namespace: 'accounts', key: 'a2', op: 'upsert', payload: { balance: 10 } },
      { namespace: 'accounts', key: 'a1', op: 'upsert', payload: { balance: 3 } },
    ]);
    const { deadLettered } = await started({ bl: sink });
    await until(() => deadLettered.length > 0, 20_000, 'the key to block');
    expect(deadLettered[0]).toMatchObject({ target: 'bl', attempts: RETRY.limit + 1, blocked: true });
    expect(deadLettered[0]!.entry.id).toBe(head!.id);

    // Appended after the block; one partition, so once other2 is delivered held3 has been read too.
    const [held3, other2] = await walbox.appendMany(pool, [
      { namespace: 'accounts', key: 'a1', op: 'upsert', payload: { balance: 4 } },
      { namespace: 'accounts', key: 'a2', op: 'upsert', payload: { balance: 11 } },
    ]);
    await until(() => has(sink, [other1!, other2!]), 20_000, 'the other key');
    await new Promise((r) => setTimeout(r, 300));
    expect(sink.byKey().get('a1')).toBeUndefined();

    const [letter, ...more] = await walbox.deadLetters.list({ namespace: 'accounts' });
    expect(more).toEqual([]);
    expect(letter).toMatchObject({
      entryId: head!.id,
      key: 'a1',
      status: 'blocking',
      attempts: RETRY.limit + 1,
      lastError: 'Error: cannot store a1',
    });
    await untilDelivery([head!], 'bl', 'dead');
    await untilDelivery([held1!, held2!, held3!], 'bl', 'pending');
    await untilDelivery([other1!, other2!], 'bl', 'applied');

    // Redrive while the store is still broken: the entry is retried, fails, and blocks its key again.
    expect(await walbox.deadLetters.redrive({ namespace: 'accounts', key: 'a1' })).toBe(1);
    await until(() => deadLettered.length >= 2, 20_000, 'the key to block again');
    expect(deadLettered[1]).toMatchObject({ blocked: true });
    expect(sink.byKey().get('a1')).toBeUndefined();
    const [again] = await walbox.deadLetters.list({ namespace: 'accounts' });
    expect(again).toMatchObject({ entryId: head!.id, status: 'blocking' });
    expect(again!.id).not.toBe(letter!.id);

    // Fixed: redrive (by filter) delivers the blocked entry, then the held ones, in order.
    heal();
    expect(await walbox.deadLetters.redrive({ namespace: 'accounts', key: 'a1' })).toBe(1);
    await until(() => has(sink, [head!, held1!, held2!, held3!]), 20_000, 'the held entries');
    expect(sink.byKey().get('a1')).toEqual([head!.id, held1!.id, held2!.id, held3!.id]);
    expect(await walbox.deadLetters.list({ namespace: 'accounts' })).toEqual([]);
    expect(await walbox.deadLetters.list({ namespace: 'accounts', status: ['redriven'] })).toHaveLength(2);
    await untilDelivery([head!, held1!, held2!, held3!, other1!, other2!], 'bl', 'applied');

    // The key is unblocked for good: a new entry flows straight through.
    const fresh = await walbox.append(pool, { namespace: 'accounts', key: 'a1', op: 'upsert', payload: 5 });
    await until(() => sink.ids().includes(fresh.id), 20_000, 'a new entry of the unblocked key');
  });

  it('discard lets the held entries through without the blocked one', async () => {
    await walbox.namespaces.upsert({ name: 'wallets', targets: ['bd'], retry: RETRY, onExhausted: 'block' });
    const { sink } = failingSink('bd');
    const [head, held1, held2, other] = await walbox.appendMany(pool, [
      { namespace: 'wallets', key: 'w1', op: 'upsert', payload: { bad: true } },
      { namespace: 'wallets', key: 'w1', op: 'upsert', payload: { n: 1 } },
      { namespace: 'wallets', key: 'w1', op: 'delete' },
      { namespace: 'wallets', key: 'w2', op: 'upsert', payload: { n: 1 } },
    ]);
    const { deadLettered } = await started({ bd: sink });
    await until(() => deadLettered.length > 0 && has(sink, [other!]), 20_000, 'the block');
    await new Promise((r) => setTimeout(r, 300));
    expect(sink.byKey().get('w1')).toBeUndefined();

    const [letter] = await walbox.deadLetters.list({ namespace: 'wallets' });
    expect(letter).toMatchObject({ entryId: head!.id, status: 'blocking' });
    expect(await walbox.deadLetters.discard([letter!.id])).toBe(1);
    await until(() => has(sink, [held1!, held2!]), 20_000, 'the held entries');
    expect(sink.byKey().get('w1')).toEqual([held1!.id, held2!.id]);
    expect(sink.ids()).not.toContain(head!.id);
    expect(await walbox.deadLetters.list({ namespace: 'wallets' })).toEqual([]);
    expect(await walbox.deadLetters.list({ namespace: 'wallets', status: ['discarded'] })).toMatchObject([
      { id: letter!.id, status: 'discarded' },
    ]);
    await untilDelivery([held1!, held2!, other!], 'bd', 'applied');
    expect(await delivery(head!.id)).toEqual({ bd: 'dead' });
    const { rows } = await pool.query<{ n: number }>(
      `select count(*)::int as n from "${schema}".parked where namespace = 'wallets'`,
    );
    expect(rows[0]!.n).toBe(0);
  });

  it('a delayed entry queued behind a blocked key leaves the dispatcher idle', async () => {
    await walbox.namespaces.upsert({ name: 'tokens', targets: ['bz'], retry: RETRY, onExhausted: 'block' });
    const { sink } = failingSink('bz');
    await walbox.append(pool, { namespace: 'tokens', key: 't1', op: 'upsert', payload: { bad: true } });
    const { deadLettered } = await started({ bz: sink });
    await until(() => deadLettered.length > 0, 20_000, 'the block');

    /** Connections the dispatcher (and pg-boss) take from the pool during `ms`: a proxy for its load. */
    const checkouts = async (ms: number) => {
      let n = 0;
      const count = () => n++;
      pool.on('acquire', count);
      await new Promise((r) => setTimeout(r, ms));
      pool.off('acquire', count);
      return n;
    };
    await new Promise((r) => setTimeout(r, 1000)); // the drain goes idle and releases the partition
    const idle = await checkouts(1500);

    const [delayed, other] = await walbox.appendMany(pool, [
      { namespace: 'tokens', key: 't1', op: 'upsert', payload: { n: 2 }, delay: { ms: 200 } },
      { namespace: 'tokens', key: 't2', op: 'upsert', payload: { n: 1 } },
    ]);
    await until(() => sink.ids().includes(other!.id), 20_000, 'the other key');
    // Its deliver time passes while its key is still blocked: that must not make the partition look due.
    await new Promise((r) => setTimeout(r, 1000));
    const blocked = await checkouts(1500);
    expect(blocked, `pool checkouts: ${blocked} behind a blocked key, ${idle} idle`).toBeLessThan(
      idle * 2 + 100,
    );
    expect(sink.ids()).not.toContain(delayed!.id);
    await untilDelivery([delayed!], 'bz', 'pending');

    const [letter] = await walbox.deadLetters.list({ namespace: 'tokens' });
    expect(await walbox.deadLetters.discard([letter!.id])).toBe(1);
    await until(() => sink.ids().includes(delayed!.id), 20_000, 'the delayed entry');
  });
});
