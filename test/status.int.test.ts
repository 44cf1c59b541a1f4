// walbox.status(): what an operator asks first: is any target behind, by how much, and why.
import { describe, expect, it } from 'vitest';
import type { TargetStatus } from '../src/index.js';
import { isolatedWalbox } from './support/db.js';
import { FAST, stopAfterEach } from './support/dispatchers.js';
import { RecordingSink, until } from './support/recording-sink.js';

const { pool, walbox } = await isolatedWalbox('status');
const running = stopAfterEach();

async function statusOf(namespace: string, cap?: number): Promise<Map<string, TargetStatus>> {
  const all = await walbox.status({ namespace, cap });
  return new Map(all.map((t) => [t.target, t]));
}

function entries(namespace: string, n: number, from = 0) {
  return Array.from({ length: n }, (_, i) => ({
    namespace,
    key: `k${(from + i) % 7}`,
    op: 'upsert',
    payload: { i: from + i },
  }));
}

describe('walbox.status', () => {
  it('counts what no dispatcher has delivered, per target and partition, with the lag of the oldest', async () => {
    await walbox.namespaces.upsert({ name: 'st-new', targets: ['a', 'b'], partitions: 3 });
    const empty = await statusOf('st-new');
    expect([...empty.keys()].sort()).toEqual(['a', 'b']);
    for (const t of empty.values()) {
      expect(t).toMatchObject({ pending: 0, capped: false, oldestPendingAt: null, lagMs: 0, draining: 0 });
      expect(t.partitions.map((p) => p.partition)).toEqual([0, 1, 2]);
    }

    const first = await walbox.appendMany(pool, entries('st-new', 10));
    // Only for target a: b is not behind on it.
    await walbox.append(pool, { namespace: 'st-new', key: 'only-a', op: 'upsert', targets: ['a'] });
    // An open transaction's entry is not in the log yet, so not behind either.
    const open = await pool.connect();
    try {
      await open.query('begin');
      await walbox.append(open, { namespace: 'st-new', key: 'open', op: 'upsert' });
      await new Promise((r) => setTimeout(r, 30));

      const s = await statusOf('st-new');
      expect(s.get('a')!.pending).toBe(11);
      expect(s.get('b')!.pending).toBe(10);
      expect(s.get('a')!.oldestPendingAt).toEqual(first[0]!.createdAt);
      expect(s.get('a')!.lagMs).toBeGreaterThanOrEqual(30);
      const perPartition = new Map<number, number>();
      for (const e of first) perPartition.set(e.partition, (perPartition.get(e.partition) ?? 0) + 1);
      for (const p of s.get('b')!.partitions) expect(p.pending).toBe(perPartition.get(p.partition) ?? 0);

      const capped = await statusOf('st-new', 2);
      expect(capped.get('b')!.capped).toBe(true);
      expect(capped.get('b')!.pending).toBeLessThanOrEqual(6);
    } finally {
      await open.query('rollback');
      open.release();
    }
  });

  it('shows a target that is down as failing and behind, while the other catches up to zero', async () => {
    await walbox.namespaces.upsert({
      name: 'st-down',
      targets: ['up', 'down'],
      partitions: 2,
      retry: { limit: 1000, initialDelayMs: 50, maxDelayMs: 100 },
    });
    const up = new RecordingSink('up');
    const down = new RecordingSink('down');
    down.fault = () => new Error('connection refused');
    const d = walbox.dispatcher({ sinks: { up, down }, ...FAST });
    running.push(d);
    await d.start();
    await walbox.appendMany(pool, entries('st-down', 20));

    await until(async () => (await statusOf('st-down')).get('up')!.delivered === 20, 20_000, 'up to deliver');
    await until(
      async () => (await statusOf('st-down')).get('down')!.failing > 0,
      20_000,
      'down to be failing',
    );
    const s = await statusOf('st-down');
    expect(s.get('up')).toMatchObject({ pending: 0, lagMs: 0, failing: 0, dead: 0, delivered: 20 });
    expect(s.get('down')).toMatchObject({ pending: 20, delivered: 0 });
    expect(s.get('down')!.lagMs).toBeGreaterThan(0);
    const failing = s.get('down')!.partitions.filter((p) => p.failures > 0);
    expect(failing.length).toBeGreaterThan(0);
    for (const p of failing) expect(p.retryAt).toBeInstanceOf(Date);
  });

  it('counts parked, blocked and dead-lettered entries, and who is draining', async () => {
    await walbox.namespaces.upsert({
      name: 'st-held',
      targets: ['t'],
      partitions: 1,
      retry: { limit: 0, initialDelayMs: 10, maxDelayMs: 10 },
    });
    const sink = new RecordingSink('t');
    sink.fault = (batch) => ({
      failed: batch
        .filter((e) => (e.payload as { bad?: boolean } | null)?.bad)
        .map((e) => ({ id: e.id, error: new Error('rejected') })),
    });
    const d = walbox.dispatcher({ sinks: { t: sink }, ...FAST, idleReleaseMs: 60_000 });
    running.push(d);
    await d.start();
    await walbox.appendMany(pool, [
      { namespace: 'st-held', key: 'bad', op: 'upsert', payload: { bad: true } },
      { namespace: 'st-held', key: 'later', op: 'upsert', delay: { ms: 3_600_000 } },
      { namespace: 'st-held', key: 'fine', op: 'upsert' },
    ]);
    await until(async () => (await statusOf('st-held')).get('t')!.dead === 1, 20_000, 'a dead letter');
    const t = (await statusOf('st-held')).get('t')!;
    expect(t).toMatchObject({ pending: 0, parked: 1, blocked: 0, dead: 1, delivered: 1, draining: 1 });
    expect(t.partitions[0]!.leaseOwner).toBe(d.id);

    await walbox.namespaces.upsert({
      name: 'st-held',
      targets: ['t'],
      partitions: 1,
      onExhausted: 'block',
      retry: { limit: 0, initialDelayMs: 10, maxDelayMs: 10 },
    });
    await walbox.append(pool, { namespace: 'st-held', key: 'stuck', op: 'upsert', payload: { bad: true } });
    await until(async () => (await statusOf('st-held')).get('t')!.blocked === 1, 20_000, 'a blocked key');
    expect((await statusOf('st-held')).get('t')).toMatchObject({ parked: 2, blocked: 1, dead: 2 });
  });

  it('rejects a bad cap or namespace name with a typed error', async () => {
    await expect(walbox.status({ cap: 0 })).rejects.toMatchObject({ code: 'INVALID_CONFIG', field: 'cap' });
    await expect(walbox.status({ namespace: 'Bad Name' })).rejects.toMatchObject({ code: 'INVALID_NAME' });
    await expect(walbox.status({ namespace: 'st-none' })).rejects.toMatchObject({
      code: 'UNKNOWN_NAMESPACE',
    });
    await walbox.namespaces.upsert({ name: 'st-no-targets', targets: [] });
    expect(await walbox.status({ namespace: 'st-no-targets' })).toEqual([]);
  });

  it('counts only current targets, and partitions past the count only where a cursor is left', async () => {
    // As docs/operations.md#status-how-far-behind-is-each-target says: no dispatcher ever ran here,
    // so no cursor holds the removed target or the partition cut off by a forced repartition.
    await walbox.namespaces.upsert({ name: 'st-moved', targets: ['a', 'b'], partitions: 2 });
    const appended = await walbox.appendMany(pool, entries('st-moved', 20));
    const inZero = appended.filter((e) => e.partition === 0).length;
    expect(inZero).toBeGreaterThan(0);
    expect(inZero).toBeLessThan(20);
    expect([...(await statusOf('st-moved')).values()].map((t) => [t.target, t.pending])).toEqual([
      ['a', 20],
      ['b', 20],
    ]);

    await walbox.namespaces.upsert({ name: 'st-moved', targets: ['a'], partitions: 1 }, { force: true });
    const after = await statusOf('st-moved');
    expect([...after.keys()]).toEqual(['a']);
    expect(after.get('a')!.partitions.map((p) => [p.partition, p.pending])).toEqual([[0, inZero]]);
    // The namespace guard counts the same: partition 1's entries and target b's are not undelivered to it.
    await expect(
      walbox.namespaces.upsert({ name: 'st-moved', targets: ['a'], partitions: 2 }),
    ).rejects.toMatchObject({ code: 'NAMESPACE_BUSY', pending: inZero });
  });
});
