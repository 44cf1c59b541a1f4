import { describe, expect, it } from 'vitest';
import type { DispatcherEvents, Entry } from '../../src/index.js';
import { isolatedWalbox } from '../support/db.js';
import { FAST, stopAfterEach } from '../support/dispatchers.js';
import { RecordingSink, until } from '../support/recording-sink.js';

const { pool, walbox, schema } = await isolatedWalbox('retries');
const running = stopAfterEach();

type Event<K extends keyof DispatcherEvents> = DispatcherEvents[K][0];

async function started(sinks: Record<string, RecordingSink>) {
  const d = walbox.dispatcher({ sinks, ...FAST });
  running.push(d);
  const retried: Event<'retried'>[] = [];
  const batchFailed: Event<'batch-failed'>[] = [];
  const deadLettered: Event<'dead-lettered'>[] = [];
  d.on('retried', (e) => retried.push(e));
  d.on('batch-failed', (e) => batchFailed.push(e));
  d.on('dead-lettered', (e) => deadLettered.push(e));
  await d.start();
  return { d, retried, batchFailed, deadLettered };
}

const marked = (e: Entry, mark: string) => (e.payload as Record<string, unknown> | null)?.[mark] === true;
const byId = (x: string, y: string) => (BigInt(x) < BigInt(y) ? -1 : BigInt(x) > BigInt(y) ? 1 : 0);
const ids = (entries: readonly Entry[]) => entries.map((e) => e.id);

function expectPerKeyOrder(sink: RecordingSink) {
  for (const [key, keyIds] of sink.byKey()) {
    expect(keyIds, `order of key ${key}`).toEqual([...keyIds].sort(byId));
  }
}

async function parkedCount(target: string): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    `select count(*)::int as n from "${schema}".parked where target = $1`,
    [target],
  );
  return rows[0]!.n;
}

describe('retries', () => {
  it('retries a failing entry with growing gaps, then delivers it and the rest of its key in order, while other keys flow', async () => {
    // Backoff ranges per attempt (equal jitter): [50,100], [200,400], [800,1600] ms; they do not overlap.
    await walbox.namespaces.upsert({
      name: 'orders',
      targets: ['r1'],
      retry: { limit: 5, initialDelayMs: 100, maxDelayMs: 5000, multiplier: 4 },
    });
    const sink = new RecordingSink('r1');
    const attemptsAt: number[] = [];
    let failuresLeft = 3;
    sink.fault = (batch) => {
      const flaky = batch.find((e) => marked(e, 'flaky'));
      if (!flaky) return undefined;
      attemptsAt.push(Date.now());
      if (failuresLeft === 0) return undefined;
      failuresLeft--;
      return { failed: [{ id: flaky.id, error: new Error('store rejected the write') }] };
    };

    const first = await walbox.appendMany(pool, [
      { namespace: 'orders', key: 'k1', op: 'upsert', payload: { n: 1, flaky: true } },
      { namespace: 'orders', key: 'k1', op: 'upsert', payload: { n: 2 } },
      { namespace: 'orders', key: 'k2', op: 'upsert', payload: { n: 1 } },
      { namespace: 'orders', key: 'k1', op: 'upsert', payload: { n: 3 } },
      { namespace: 'orders', key: 'k3', op: 'upsert', payload: { n: 1 } },
    ]);
    const flaky = first[0]!;
    const { retried, deadLettered } = await started({ r1: sink });

    await until(() => attemptsAt.length >= 1, 20_000, 'first attempt');
    // Appended while k1 is backing off: other keys go straight through, k1 queues up behind its head.
    const later = await walbox.appendMany(pool, [
      { namespace: 'orders', key: 'k2', op: 'upsert', payload: { n: 2 } },
      { namespace: 'orders', key: 'k1', op: 'upsert', payload: { n: 4 } },
      { namespace: 'orders', key: 'k3', op: 'upsert', payload: { n: 2 } },
    ]);
    const all = [...first, ...later];
    await until(() => all.every((e) => sink.ids().includes(e.id)), 30_000, 'every entry');

    // Three failures, then the success.
    expect(attemptsAt.length).toBeGreaterThanOrEqual(4);
    expect(retried.map((r) => [r.entry.id, r.attempt])).toEqual([
      [flaky.id, 1],
      [flaky.id, 2],
      [flaky.id, 3],
    ]);
    expect(retried.every((r) => r.error.includes('store rejected the write') && r.target === 'r1')).toBe(
      true,
    );
    // nextAttemptAt = (step clock, taken before the sink was called) + backoff, so against the failed
    // attempt's own time it bounds the backoff from above; consecutive nextAttemptAts bound it from below
    // (each step starts no earlier than the previous nextAttemptAt). Neither depends on machine load.
    const next = retried.map((r) => r.nextAttemptAt.getTime());
    for (let i = 0; i < 3; i++) {
      const capped = 100 * 4 ** i;
      expect(next[i]! - attemptsAt[i]!, `backoff after attempt ${i + 1}`).toBeLessThanOrEqual(capped + 10);
      if (i > 0) {
        expect(next[i]! - next[i - 1]!, `backoff after attempt ${i + 1}`).toBeGreaterThanOrEqual(
          capped / 2 - 5,
        );
      }
      // Never retried early.
      expect(attemptsAt[i + 1]!, `attempt ${i + 2}`).toBeGreaterThanOrEqual(next[i]! - 10);
    }
    // The gaps between attempts grow: the last backoff, [800, 1600] ms, dwarfs the first two.
    const gaps = [1, 2, 3].map((i) => attemptsAt[i]! - attemptsAt[i - 1]!);
    expect(gaps[2]).toBeGreaterThan(gaps[0]!);
    expect(gaps[2]).toBeGreaterThan(gaps[1]!);

    // Other keys, even those appended after the failure, were delivered before k1 recovered.
    const recoveredAt = sink.ids().indexOf(flaky.id);
    for (const e of all.filter((x) => x.key !== 'k1')) {
      expect(sink.ids().indexOf(e.id), `${e.key} ${e.id}`).toBeLessThan(recoveredAt);
    }
    // k1 arrives whole and in order, its later entries after the one that failed.
    expect(sink.byKey().get('k1')).toEqual(ids(all.filter((e) => e.key === 'k1')).sort(byId));
    expectPerKeyOrder(sink);
    expect(deadLettered).toEqual([]);
    expect(await walbox.deadLetters.list({ target: 'r1' })).toEqual([]);
    await until(async () => (await parkedCount('r1')) === 0, 10_000, 'parked entries to clear');
  });

  it('an entry queued behind a retrying entry of its key still waits for its own deliver time', async () => {
    await walbox.namespaces.upsert({
      name: 'reminders',
      targets: ['r4'],
      retry: { limit: 5, initialDelayMs: 300, maxDelayMs: 300 },
    });
    const sink = new RecordingSink('r4');
    const appliedAt = new Map<string, number>();
    let failed = false;
    sink.fault = (batch) => {
      const now = Date.now();
      for (const e of batch) appliedAt.set(e.id, now);
      if (failed || batch[0]?.key !== 'm1') return undefined;
      failed = true;
      return { failed: [{ id: batch[0].id, error: new Error('try later') }] };
    };
    await started({ r4: sink });
    const head = await walbox.append(pool, { namespace: 'reminders', key: 'm1', op: 'send', payload: 1 });
    await until(() => failed, 20_000, 'the first failure');
    // Read while its key is parked: it queues behind the head and keeps its delay.
    const delayed = await walbox.append(pool, {
      namespace: 'reminders',
      key: 'm1',
      op: 'send',
      payload: 2,
      delay: { ms: 2000 },
    });
    const after = await walbox.append(pool, { namespace: 'reminders', key: 'm1', op: 'send', payload: 3 });
    await until(() => sink.ids().includes(after.id), 30_000, 'the whole key');

    expect(sink.byKey().get('m1')).toEqual([head.id, delayed.id, after.id]);
    expect(appliedAt.get(delayed.id)!).toBeGreaterThanOrEqual(delayed.deliverAt!.getTime() - 10);
    expect(appliedAt.get(head.id)!).toBeLessThan(delayed.deliverAt!.getTime());
  });

  it('a sink that throws for whole batches a few times: backs off, re-offers the same entries, then delivers all in order', async () => {
    await walbox.namespaces.upsert({
      name: 'payments',
      targets: ['r2'],
      partitions: 2,
      retry: { limit: 5, initialDelayMs: 50, maxDelayMs: 200 },
    });
    const sink = new RecordingSink('r2');
    const failedBatches: Entry[][] = [];
    const appliedAt: number[] = [];
    let throwsLeft = 3;
    sink.fault = (batch) => {
      appliedAt.push(Date.now());
      if (throwsLeft === 0) return undefined;
      throwsLeft--;
      failedBatches.push([...batch]);
      return new Error('connection refused');
    };
    const appended: Entry[] = [];
    for (let t = 0; t < 3; t++) {
      appended.push(
        ...(await walbox.appendMany(
          pool,
          Array.from({ length: 10 }, (_, i) => ({
            namespace: 'payments',
            key: `acct-${i % 4}`,
            op: 'upsert',
            payload: { t, i },
          })),
        )),
      );
    }
    const { batchFailed, retried, deadLettered } = await started({ r2: sink });
    await until(() => throwsLeft === 0, 20_000, 'the failures');
    appended.push(
      ...(await walbox.appendMany(
        pool,
        Array.from({ length: 6 }, (_, i) => ({
          namespace: 'payments',
          key: `acct-${i % 4}`,
          op: 'upsert',
          payload: { t: 'after', i },
        })),
      )),
    );
    await until(() => appended.every((e) => sink.ids().includes(e.id)), 30_000, 'every entry');

    expect(new Set(sink.ids())).toEqual(new Set(ids(appended)));
    expectPerKeyOrder(sink);
    // Nothing of a failed batch was lost: every entry in it arrived afterwards.
    for (const batch of failedBatches) {
      for (const e of batch) expect(sink.ids()).toContain(e.id);
    }
    expect(batchFailed).toHaveLength(3);
    for (const partition of [0, 1]) {
      const failures = batchFailed.filter((b) => b.partition === partition).map((b) => b.failures);
      expect(failures).toEqual(failures.map((_, i) => i + 1)); // consecutive failures count up
    }
    for (const b of batchFailed) {
      expect(b).toMatchObject({ namespace: 'payments', target: 'r2' });
      expect(b.retryAt).toBeInstanceOf(Date);
    }
    // Whole-batch failures are not entry failures: nothing parked, retried or dead-lettered.
    expect(retried).toEqual([]);
    expect(deadLettered).toEqual([]);
    expect(await walbox.deadLetters.list({ target: 'r2' })).toEqual([]);
    // The cursors are healthy again: no failure count, no pending back-off.
    await until(
      async () => {
        const { rows } = await pool.query<{ n: number }>(
          `select count(*)::int as n from "${schema}".cursors
            where target = 'r2' and (failures > 0 or retry_at is not null)`,
        );
        return rows[0]!.n === 0;
      },
      10_000,
      'cursors to reset',
    );
  });

  it('a batch that keeps failing is probed entry by entry: the entry that fails alone is dead-lettered, the rest delivered', async () => {
    await walbox.namespaces.upsert({
      name: 'ledger',
      targets: ['r3'],
      retry: { limit: 2, initialDelayMs: 20, maxDelayMs: 50 },
      onExhausted: 'dead-letter',
    });
    const sink = new RecordingSink('r3');
    const offered: string[][] = [];
    sink.fault = (batch) => {
      offered.push(ids(batch));
      return batch.some((e) => marked(e, 'poison')) ? new Error('batch rejected') : undefined;
    };
    const appended = await walbox.appendMany(pool, [
      { namespace: 'ledger', key: 'k1', op: 'upsert', payload: { n: 1 } },
      { namespace: 'ledger', key: 'k2', op: 'upsert', payload: { n: 1, poison: true } },
      { namespace: 'ledger', key: 'k3', op: 'upsert', payload: { n: 1 } },
      { namespace: 'ledger', key: 'k2', op: 'upsert', payload: { n: 2 } },
    ]);
    const poison = appended[1]!;
    const { batchFailed, deadLettered } = await started({ r3: sink });
    const healthy = appended.filter((e) => e !== poison);
    await until(() => healthy.every((e) => sink.ids().includes(e.id)), 30_000, 'the healthy entries');

    expect(sink.ids()).not.toContain(poison.id);
    expectPerKeyOrder(sink);
    // Each probe goes alone; the poison entry was the only one to fail on its own.
    expect(offered).toContainEqual([poison.id]);
    expect(batchFailed.length).toBeGreaterThanOrEqual(3);
    expect(deadLettered).toHaveLength(1);
    expect(deadLettered[0]).toMatchObject({ target: 'r3', attempts: 3, blocked: false });
    expect(deadLettered[0]!.entry.id).toBe(poison.id);
    expect(deadLettered[0]!.error).toContain('batch rejected');
    const [letter, ...more] = await walbox.deadLetters.list({ target: 'r3' });
    expect(more).toEqual([]);
    expect(letter).toMatchObject({ entryId: poison.id, key: 'k2', status: 'dead', attempts: 3 });
  });
});
