// checkpointMs: a drain that keeps delivering writes its position at most that often, not after every step,
// and emits each step's 'delivered' event only once the step is written.
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { type Dispatcher, Walbox } from '../../src/index.js';
import { databaseUrl, isolatedWalbox } from '../support/db.js';
import { FAST, stopAfterEach } from '../support/dispatchers.js';
import { RecordingSink, until } from '../support/recording-sink.js';

const { walbox, schema } = await isolatedWalbox('checkpoint');
const running = stopAfterEach();

/** A dispatcher on a pool of its own that counts the record_step statements it runs. */
async function counted(ns: string, checkpointMs: number) {
  const pool = new pg.Pool({ connectionString: databaseUrl(), max: 10 });
  pool.on('error', () => {});
  const query = pool.query.bind(pool) as (...args: unknown[]) => Promise<unknown>;
  const stats = { recordSteps: 0 };
  (pool as unknown as { query: (...args: unknown[]) => Promise<unknown> }).query = (...args: unknown[]) => {
    const text = typeof args[0] === 'string' ? args[0] : (args[0] as { text?: string }).text;
    if (text?.includes('.record_step(')) stats.recordSteps++;
    return query(...args);
  };
  const sink = new RecordingSink('t');
  const d: Dispatcher = new Walbox({ pool, schema }).dispatcher({
    sinks: { t: sink },
    ...FAST,
    busyPollMs: 5,
    checkpointMs,
  });
  running.push(d);
  const steps: number[] = [];
  // What cursors.delivered says right after each 'delivered' event, against the entries delivered by then.
  const seen: Array<Promise<{ recorded: number; emitted: number }>> = [];
  let emitted = 0;
  d.on('delivered', (e) => {
    emitted += e.entries.length;
    steps.push(e.entries.length);
    const at = emitted;
    seen.push(
      walbox.pool
        .query<{ n: string }>(`select delivered::text as n from "${schema}".cursors where namespace = $1`, [
          ns,
        ])
        .then((r) => ({ recorded: Number(r.rows[0]?.n ?? 0), emitted: at })),
    );
  });
  await d.start();
  return { d, sink, stats, steps, seen, close: () => d.stop().then(() => pool.end()) };
}

/** `n` single-entry transactions, one every `everyMs`. */
async function trickle(ns: string, n: number, everyMs: number) {
  for (let i = 0; i < n; i++) {
    await walbox.append(walbox.pool, { namespace: ns, key: `k${i % 7}`, op: 'upsert', payload: { i } });
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

describe('checkpointMs', () => {
  it('writes a busy drain position at most that often, with every delivery counted, events after the write', async () => {
    await walbox.namespaces.upsert({ name: 'steady', partitions: 1, targets: ['t'] });
    const c = await counted('steady', 400);
    await trickle('steady', 150, 10);
    await until(() => c.sink.applied.length >= 150, 20_000, 'all delivered');
    await c.close();
    const seen = await Promise.all(c.seen);
    // Each step delivered a few entries; the position was written a few times a second, not per step.
    expect(c.steps.length).toBeGreaterThan(20);
    expect(c.stats.recordSteps).toBeLessThan(c.steps.length / 3);
    // Every event came after its step was written: the cursor already counted its entries.
    for (const s of seen) expect(s.recorded).toBeGreaterThanOrEqual(s.emitted);
    const { rows } = await walbox.pool.query<{ n: string }>(
      `select delivered::text as n from "${schema}".cursors where namespace = 'steady'`,
    );
    expect(Number(rows[0]!.n)).toBe(150);
  });

  it('writes every step with checkpointMs 0', async () => {
    await walbox.namespaces.upsert({ name: 'every', partitions: 1, targets: ['t'] });
    const c = await counted('every', 0);
    await trickle('every', 60, 10);
    await until(() => c.sink.applied.length >= 60, 20_000, 'all delivered');
    await c.close();
    expect(c.stats.recordSteps).toBe(c.steps.length);
  });
});
