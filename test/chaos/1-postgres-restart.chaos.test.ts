// Scenario 1: Postgres restarts (fast shutdown) while producers and dispatchers run; then once more while a
// large batch is being applied. No process dies, delivery resumes within 5 s of Postgres accepting
// connections, and the checker finds nothing lost, reordered or applied from a rolled-back transaction.
import { expect, it } from 'vitest';
import { report } from './support/report.js';
import { deadDispatchers, recoveryAfter, scenario } from './support/scenario.js';
import { sleep } from './support/world.js';

scenario('postgres restart', { recordApplyMs: 200, dispatcher: { batchSize: 400 } }, (world) => {
  it('resumes after each restart and converges', async () => {
    const w = world();
    await w.startSteady();

    await w.postgres.restart({ downMs: 1000 });
    const up1 = Date.now();
    await sleep(5000);

    // A burst makes a backlog, so that dispatchers read full batches; the restart lands while one is applied
    // (the record sink holds each batch 200 ms).
    let large: (() => void) | undefined;
    const largeBatch = new Promise<void>((resolve) => {
      large = resolve;
    });
    w.onBatch = (target, size) => {
      if (target === 'record' && size >= 200) large?.();
    };
    w.startProducers(1, { rate: 0, txSize: 100 });
    await largeBatch;
    await w.postgres.restart({ downMs: 1000 });
    const up2 = Date.now();
    await w.producers.at(-1)!.stop();
    await sleep(5000);
    await w.stopProducers();
    const drainMs = await w.drained();

    const r1 = recoveryAfter(w, up1);
    const r2 = recoveryAfter(w, up2);
    report(
      await w.check(
        'postgres restart x2',
        `${r1} ms and ${r2} ms after Postgres accepted connections; backlog drained ${drainMs} ms after producers stopped`,
      ),
    );
    expect(deadDispatchers(w)).toEqual([]);
    expect(r1).toBeLessThan(5000);
    expect(r2).toBeLessThan(5000);
  });
});
