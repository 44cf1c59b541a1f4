// Scenario 6: another client holds 90% of max_connections, idle, for 20 s (longer than the pools keep an
// idle connection, so walbox must open new ones meanwhile). walbox reports the condition with a clear,
// typed error on the dispatchers' error event, keeps going with the connections it has, and delivery is
// fully back within 5 s of the connections being released.
import pg from 'pg';
import { expect, it } from 'vitest';
import { report } from './support/report.js';
import { deadDispatchers, recoveryAfter, scenario } from './support/scenario.js';
import { sleep, until } from './support/world.js';

const MAX_CONNECTIONS = 60;

scenario('pool exhaustion', { maxConnections: MAX_CONNECTIONS }, (world) => {
  it('reports a database out of connections and recovers when they are released', async () => {
    const w = world();
    await w.start();
    await Promise.all([w.startDispatcher(0), w.startDispatcher(1)]);
    w.startProducers(2, { rate: 250 });
    await until('the first deliveries', () => w.firstAppliedAt.size >= 500);

    const hogs: pg.Client[] = [];
    const errorsBefore = w.errors.length;
    for (let i = 0; i < Math.floor(MAX_CONNECTIONS * 0.9); i++) {
      const c = new pg.Client({ connectionString: w.postgres.url });
      c.on('error', () => {});
      try {
        await c.connect();
        hogs.push(c);
      } catch {
        break; // walbox holds the rest
      }
    }
    await sleep(20_000);
    const during = w.errors.slice(errorsBefore);
    await Promise.all(hogs.map((c) => c.end()));
    const released = Date.now();
    await sleep(5000);
    await w.stopProducers();
    const drainMs = await w.drained();

    const recovery = recoveryAfter(w, released);
    const reported = during.filter((e) =>
      e.startsWith('DATABASE_UNAVAILABLE Postgres has no connection slot left'),
    );
    console.log(
      `errors reported while connections were held (${during.length}):\n${[...new Set(during)].slice(0, 5).join('\n')}`,
    );
    report(
      await w.check(
        `${hogs.length} of ${MAX_CONNECTIONS} connections held idle for 20 s`,
        `${during.length} errors reported meanwhile; delivery back ${recovery} ms after release; drained ${drainMs} ms after producers stopped`,
      ),
    );
    expect(deadDispatchers(w)).toEqual([]);
    expect(reported.length).toBeGreaterThan(0);
    expect(recovery).toBeLessThan(5000);
  });
});
