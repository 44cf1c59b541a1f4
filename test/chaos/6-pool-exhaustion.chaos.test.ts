// Scenario 6: another client holds 90% of max_connections, idle, while walbox's dispatchers start and its
// producers append. walbox reports the condition with a clear, typed error (DatabaseUnavailableError,
// 'connections-exhausted': on the dispatchers' error event, once per start attempt; start() keeps trying for
// startTimeoutMs), works with the connections it gets, and delivery is fully back within 5 s of the
// connections being released.
import pg from 'pg';
import { expect, it } from 'vitest';
import { report } from './support/report.js';
import { deadDispatchers, recoveryAfter, scenario } from './support/scenario.js';
import { sleep } from './support/world.js';

const MAX_CONNECTIONS = 100;
const HELD = 90;

scenario('connection exhaustion', { maxConnections: MAX_CONNECTIONS }, (world) => {
  it('reports a database out of connections and recovers when they are released', async () => {
    const w = world();
    await w.start();
    const hogs: pg.Client[] = [];
    for (let i = 0; i < HELD; i++) {
      const c = new pg.Client({ connectionString: w.postgres.url });
      c.on('error', () => {});
      await c.connect();
      hogs.push(c);
    }
    // Started as a service supervisor would: again after each failed start (start() itself tries for 30 s).
    const starting = [w.startDispatcherRetrying(0), w.startDispatcherRetrying(1)];
    w.startProducers(2, { rate: 250 });
    await sleep(15_000);
    const during = [...w.errors];
    await Promise.all(hogs.map((c) => c.end()));
    const released = Date.now();
    await Promise.all(starting);
    await sleep(5000);
    await w.stopProducers();
    const drainMs = await w.drained();

    const recovery = recoveryAfter(w, released);
    const exhausted = during.filter(
      (e) => e.startsWith('DATABASE_UNAVAILABLE') && e.includes('no connection slot'),
    );
    console.log(
      `errors while ${HELD} connections were held (${during.length}), e.g.:\n${[...new Set(during)].slice(0, 3).join('\n')}`,
    );
    report(
      await w.check(
        `${HELD} of ${MAX_CONNECTIONS} connections held idle for 15 s`,
        `${exhausted.length} of ${during.length} errors reported said so; delivery fully back ${recovery} ms after release; drained ${drainMs} ms after producers stopped`,
      ),
    );
    expect(deadDispatchers(w)).toEqual([]);
    expect(exhausted.length).toBeGreaterThan(0);
    expect(during.filter((e) => !e.startsWith('DATABASE_UNAVAILABLE'))).toEqual([]);
    // The goal is 5 s. Before start() retried by itself (a failed start exited and the harness spawned
    // a new process, ~2-7 s of boot under load) CI measured 5.1-5.8 s; since then 2-3 s. Bound at 10 s
    // (a loaded CI machine), goal tracked in the printed table.
    expect(recovery).toBeLessThan(10_000);
  });
});
