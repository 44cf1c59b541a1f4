// Scenario 2: every backend of the database terminated (pg_terminate_backend) every second for 10 s, while
// producers and dispatchers run: no process dies, delivery resumes within 5 s of the last round, and the
// checker finds nothing lost, reordered or applied from a rolled-back transaction.
import { expect, it } from 'vitest';
import { report } from './support/report.js';
import { deadDispatchers, recoveryAfter, scenario } from './support/scenario.js';
import { sleep } from './support/world.js';

scenario('terminated backends', {}, (world) => {
  it('resumes after every backend was terminated, ten times', async () => {
    const w = world();
    await w.startSteady();

    let terminated = 0;
    for (let round = 0; round < 10; round++) {
      const { rows } = await w.pool.query<{ n: number }>(
        `select count(pg_terminate_backend(pid))::int as n from pg_stat_activity
          where datname = current_database() and pid <> pg_backend_pid()`,
      );
      terminated += rows[0]!.n;
      await sleep(1000);
    }
    const last = Date.now() - 1000;
    await sleep(5000);
    await w.stopProducers();
    const drainMs = await w.drained();

    const recovery = recoveryAfter(w, last);
    report(
      await w.check(
        'terminate every backend, 1/s for 10 s',
        `${terminated} backends terminated; ${recovery} ms after the last round; drained ${drainMs} ms after producers stopped`,
      ),
    );
    expect(deadDispatchers(w)).toEqual([]);
    expect(recovery).toBeLessThan(5000);
  });
});
