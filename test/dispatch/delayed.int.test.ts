import { describe, expect, it } from 'vitest';
import type { Entry } from '../../src/index.js';
import { functionSink } from '../../src/index.js';
import { isolatedWalbox } from '../support/db.js';
import { stopAfterEach } from '../support/dispatchers.js';
import { until } from '../support/recording-sink.js';

const { pool, walbox } = await isolatedWalbox('delayed');
const FAST = { pollIntervalMs: 50, superviseMs: 500, leaseMs: 5000, idleReleaseMs: 300 };
const running = stopAfterEach();

/** Records each entry with the database clock at apply time, so deliver_at can be compared without skew. */
function timedSink(name: string) {
  const seen: Array<{ entry: Entry; at: Date }> = [];
  const sink = functionSink(name, async (batch) => {
    const { rows } = await pool.query<{ now: Date }>('select clock_timestamp() as now');
    for (const entry of batch) seen.push({ entry, at: rows[0]!.now });
  });
  return { sink, seen };
}

describe('delayed delivery', () => {
  it('never delivers before deliver time, delivers soon after, and does not hold back other keys', async () => {
    await walbox.namespaces.upsert({ name: 'jobs', targets: ['cb'], partitions: 2 });
    const { sink, seen } = timedSink('cb');
    const d = walbox.dispatcher({ sinks: { cb: sink }, ...FAST });
    running.push(d);
    await d.start();

    const delayed = await walbox.appendMany(
      pool,
      Array.from({ length: 20 }, (_, i) => ({
        namespace: 'jobs',
        key: `late-${i}`,
        op: 'run',
        payload: { i },
        delay: { ms: 1500 + i * 50 },
      })),
    );
    const sameKeyAfter = await walbox.append(pool, {
      namespace: 'jobs',
      key: 'late-0',
      op: 'run',
      payload: 'next',
    });
    const prompt = await walbox.appendMany(
      pool,
      Array.from({ length: 20 }, (_, i) => ({
        namespace: 'jobs',
        key: `now-${i}`,
        op: 'run',
        payload: { i },
      })),
    );

    // Undelayed entries of other keys arrive while the delayed ones wait.
    await until(
      () => prompt.every((p) => seen.some((s) => s.entry.id === p.id)),
      10_000,
      'undelayed entries',
    );
    expect(seen.some((s) => s.entry.key.startsWith('late-'))).toBe(false);

    await until(() => seen.length >= 41, 15_000, 'delayed entries');
    const lags: number[] = [];
    for (const e of delayed) {
      const got = seen.find((s) => s.entry.id === e.id)!;
      const lag = got.at.getTime() - e.deliverAt!.getTime();
      expect(lag, `entry ${e.id} delivered ${-lag} ms early`).toBeGreaterThanOrEqual(0);
      lags.push(lag);
    }
    lags.sort((a, b) => a - b);
    // p99 of 20 samples is the maximum: within 1 s after the deliver time under light load.
    expect(lags[lags.length - 1]).toBeLessThan(1000);

    // Per-key order: the undelayed entry appended after a delayed one of the same key waits behind it.
    const order = seen.filter((s) => s.entry.key === 'late-0').map((s) => s.entry.id);
    expect(order).toEqual([delayed[0]!.id, sameKeyAfter.id]);
  });

  it('spreads a burst with jitter', async () => {
    await walbox.namespaces.upsert({ name: 'purge', targets: ['cb2'] });
    const { sink, seen } = timedSink('cb2');
    const d = walbox.dispatcher({ sinks: { cb2: sink }, ...FAST });
    running.push(d);
    await d.start();
    const entries = await walbox.appendMany(
      pool,
      Array.from({ length: 200 }, (_, i) => ({
        namespace: 'purge',
        key: `k${i}`,
        op: 'delete',
        delay: { ms: 1000, jitterMs: 4000 },
      })),
    );
    const offsets = entries.map((e) => e.deliverAt!.getTime() - e.createdAt.getTime());
    expect(Math.min(...offsets)).toBeGreaterThanOrEqual(1000);
    expect(Math.max(...offsets)).toBeLessThanOrEqual(5100);
    // Spread over the window: every second of it holds some of the burst.
    const buckets = new Set(offsets.map((o) => Math.floor((o - 1000) / 1000)));
    expect(buckets.size).toBeGreaterThanOrEqual(4);

    // And so do the arrivals: each entry waits for its own deliver time, so they come over seconds, not at once.
    await until(() => seen.length >= 200, 20_000, 'the jittered burst');
    const created = entries[0]!.createdAt.getTime();
    const arrivals = entries.map((e) => {
      const got = seen.find((s) => s.entry.id === e.id)!;
      expect(got.at.getTime(), `entry ${e.id} delivered before its deliver time`).toBeGreaterThanOrEqual(
        e.deliverAt!.getTime(),
      );
      return got.at.getTime() - created;
    });
    expect(Math.max(...arrivals) - Math.min(...arrivals)).toBeGreaterThan(2000);
    expect(new Set(arrivals.map((a) => Math.floor(a / 1000))).size).toBeGreaterThanOrEqual(3);
  });

  it('deliverAt in the future is honoured', async () => {
    await walbox.namespaces.upsert({ name: 'at', targets: ['cb3'] });
    const { sink, seen } = timedSink('cb3');
    const d = walbox.dispatcher({ sinks: { cb3: sink }, ...FAST });
    running.push(d);
    await d.start();
    const { rows } = await pool.query<{ now: Date }>('select clock_timestamp() as now');
    const at = new Date(rows[0]!.now.getTime() + 1200);
    const e = await walbox.append(pool, { namespace: 'at', key: 'x', op: 'run', deliverAt: at });
    await until(() => seen.length === 1, 10_000, 'deliverAt entry');
    expect(seen[0]!.entry.id).toBe(e.id);
    expect(seen[0]!.at.getTime()).toBeGreaterThanOrEqual(at.getTime());
  });
});
