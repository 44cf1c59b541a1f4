// Scenario 4: Redis and memcached SIGKILLed, down for 30 s, started again; then both frozen with SIGSTOP for
// 10 s (a hung server: connections stay open, nothing answers) and resumed. Entries wait in the log and
// flow again once the stores are back, in order; Redis (append-only file, fsync always) ends up exactly at
// the log's last entry of every key, memcached (restarted empty) at it or missing it, never older.
import { expect, it } from 'vitest';
import { report } from './support/report.js';
import { deadDispatchers, scenario } from './support/scenario.js';
import { sleep, until, type World } from './support/world.js';

/** Milliseconds until the Redis and memcached targets are less than a second behind again. */
async function storesCaughtUp(w: World, since: number): Promise<number> {
  await until(
    'the stores to catch up',
    async () => {
      const status = await w.walbox.status();
      return status.filter((t) => t.target !== 'record').every((t) => t.lagMs < 1000 && t.failing === 0);
    },
    60_000,
  );
  return Date.now() - since;
}

scenario('store outage', {}, (world) => {
  it('waits for the stores and catches up after they are back', async () => {
    const w = world();
    await w.startSteady();

    w.redis.kill('SIGKILL');
    w.memcached.kill('SIGKILL');
    await sleep(30_000);
    await Promise.all([w.redis.start(), w.memcached.start()]);
    const restarted = await storesCaughtUp(w, Date.now());

    await Promise.all([w.redis.freeze(), w.memcached.freeze()]);
    await sleep(10_000);
    w.redis.kill('SIGCONT');
    w.memcached.kill('SIGCONT');
    const resumed = await storesCaughtUp(w, Date.now());

    await sleep(2000);
    await w.stopProducers();
    const drainMs = await w.drained();
    report(
      await w.check(
        'redis+memcached killed 30 s, then frozen 10 s',
        `caught up ${restarted} ms after the restart, ${resumed} ms after SIGCONT; drained ${drainMs} ms after producers stopped`,
      ),
    );
    expect(deadDispatchers(w)).toEqual([]);
  });
});
