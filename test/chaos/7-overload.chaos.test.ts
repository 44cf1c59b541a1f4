// Scenario 7: producers offer 1.5x what the dispatchers were measured to drain, for 60 s, then stop. The
// dispatchers' memory stays bounded (peak RSS reported; they read batches, never the whole backlog) and the
// backlog drains. The `record` sink takes 100 ms per batch of 100 over 2 partitions (a slow target), so that
// the producers of this 2-core machine can outrun it: with fast sinks they cannot.
import { expect, it } from 'vitest';
import { report } from './support/report.js';
import { deadDispatchers, scenario } from './support/scenario.js';
import { sleep } from './support/world.js';

const OVERLOAD_S = 60;
const MIB = 1024 * 1024;

scenario('overload', { partitions: 2, recordApplyMs: 100, dispatcher: { batchSize: 100 } }, (world) => {
  it('stays bounded in memory under 1.5x its capacity and drains the backlog', async () => {
    const w = world();
    await w.start();

    // Capacity: what two dispatchers deliver while producers append as fast as they can (more than that).
    await Promise.all([w.startDispatcher(0), w.startDispatcher(1)]);
    w.startProducers(2, { rate: 0, txSize: 100 });
    await sleep(3000);
    const [a0, t0] = [w.firstAppliedAt.size, Date.now()];
    await sleep(10_000);
    const capacity = Math.round(((w.firstAppliedAt.size - a0) * 1000) / (Date.now() - t0));
    await w.stopProducers();
    await w.drained(300_000);

    const offered = Math.round(capacity * 1.5);
    const before = w.committedAt.size;
    const producers = 4;
    const start = Date.now();
    w.startProducers(producers, { rate: Math.ceil(offered / producers), txSize: 50 });
    await sleep(OVERLOAD_S * 1000);
    await w.stopProducers();
    const achieved = Math.round(((w.committedAt.size - before) * 1000) / (Date.now() - start));
    const backlogAtStop = (await w.walbox.status()).find((t) => t.target === 'record')!.pending;
    const drainMs = await w.drained(300_000);

    report(
      await w.check(
        `producers at 1.5x capacity for ${OVERLOAD_S} s`,
        `capacity ${capacity}/s; offered ${offered}/s, committed ${achieved}/s; ${backlogAtStop} pending for record when producers stopped, drained in ${drainMs} ms; dispatcher RSS peak ${Math.round(w.rssPeak / MIB)} MiB`,
      ),
    );
    expect(deadDispatchers(w)).toEqual([]);
    // The producers outran the dispatchers: more than 5 s of their capacity was queued when they stopped.
    // A backlog of over 5 s of capacity formed, unless the producers could not commit much more than the
    // measured capacity (then that measurement was bound by the producers, not the dispatchers: seen in CI
    // once batches started to hold whole source transactions, 792/s committed against 676/s measured).
    if (achieved > capacity * 1.25) expect(backlogAtStop).toBeGreaterThan(capacity * 5);
    expect(w.rssPeak).toBeLessThan(512 * MIB);
  });
});
