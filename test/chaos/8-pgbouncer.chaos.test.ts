// Scenario 8: producers and dispatchers connect through a real PgBouncer in transaction pooling mode, with
// `wakeup: 'poll'` and `preparedStatements: false`; Postgres behind it restarts once. The delivery and order
// checks pass through it, and delivery resumes within 5 s of Postgres accepting connections again.
import { expect, it } from 'vitest';
import { startPgBouncer } from '../support/pgbouncer.js';
import { report } from './support/report.js';
import { deadDispatchers, recoveryAfter, scenario } from './support/scenario.js';
import { sleep } from './support/world.js';

scenario(
  'behind pgbouncer',
  {
    needs: ['pgbouncer'],
    dispatcher: { wakeup: 'poll', preparedStatements: false },
    clientUrl: async (databaseUrl) =>
      (await startPgBouncer({ databaseUrl, poolMode: 'transaction', poolSize: 20 })).url,
  },
  (world) => {
    it('delivers in order through transaction pooling, across a Postgres restart', async () => {
      const w = world();
      await w.startSteady();

      await w.postgres.restart({ downMs: 1000 });
      const up = Date.now();
      await sleep(8000);
      await w.stopProducers();
      const drainMs = await w.drained();

      const recovery = recoveryAfter(w, up);
      report(
        await w.check(
          'through pgbouncer (transaction pooling), one restart',
          `${recovery} ms after Postgres accepted connections; drained ${drainMs} ms after producers stopped`,
        ),
      );
      expect(deadDispatchers(w)).toEqual([]);
      expect(recovery).toBeLessThan(5000);
    });
  },
);
