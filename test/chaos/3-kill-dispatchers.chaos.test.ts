// Scenario 3: a random one of three dispatcher processes SIGKILLed every few seconds for a minute, and
// started again each time. Its leases lapse and the others (or its successor) take its partitions over;
// what it applied without recording is delivered again, which the version guards absorb.
import { expect, it } from 'vitest';
import { report } from './support/report.js';
import { scenario } from './support/scenario.js';
import { sleep } from './support/world.js';

const SECONDS = 60;

scenario('killed dispatchers', { recordApplyMs: 20 }, (world) => {
  it('converges while dispatchers are killed and restarted', async () => {
    const w = world();
    await w.startSteady({ dispatchers: 3, delivered: 500 });

    const end = Date.now() + SECONDS * 1000;
    let kills = 0;
    while (Date.now() < end) {
      await sleep(2000 + Math.random() * 3000);
      const i = Math.floor(Math.random() * 3);
      w.dispatchers[i]!.kill('SIGKILL');
      await w.dispatchers[i]!.exited;
      kills++;
      await w.startDispatcher(i);
    }
    await w.stopProducers();
    const drainMs = await w.drained(180_000);

    report(
      await w.check(
        `SIGKILL a dispatcher every 2-5 s for ${SECONDS} s`,
        `${kills} kills; drained ${drainMs} ms after producers stopped (leases lapse after 15 s)`,
      ),
    );
    expect(kills).toBeGreaterThanOrEqual(4); // every 2-5 s for 60 s, less the restarts under load (5 seen in CI)
  });
});
