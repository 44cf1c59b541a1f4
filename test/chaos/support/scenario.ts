import { afterAll, describe } from 'vitest';
import { canStart, type ServerBinary } from '../../support/required-servers.js';
import { World, type WorldOptions } from './world.js';

/**
 * A scenario file's world, started before its test and torn down after, or a skipped describe when a
 * server binary it starts is missing (the chaos global setup prints what to install).
 */
export function scenario(
  name: string,
  options: WorldOptions & { needs?: ServerBinary[] },
  body: (world: () => World) => void,
): void {
  const ready = ['redis-server' as const, 'memcached' as const, ...(options.needs ?? [])].every(canStart);
  describe.runIf(ready)(name, () => {
    let world: World | undefined;
    afterAll(async () => {
      await world?.close();
    });
    body(() => {
      world ??= new World(options);
      return world;
    });
  });
}

/**
 * Milliseconds from `since` until every entry committed in the second after it (keys spread over all
 * partitions) was applied by the record sink: how long until delivery had resumed everywhere.
 */
export function recoveryAfter(world: World, since: number): number {
  let last = 0;
  let count = 0;
  // The entries committed in the first second after `since`; if none (producers slow to reconnect under
  // load), the first 50 committed after it.
  const after = [...world.committedAt].filter(([, at]) => at >= since).sort((a, b) => a[1] - b[1]);
  const firstSecond = after.filter(([, at]) => at < since + 1000);
  for (const [id] of firstSecond.length > 0 ? firstSecond : after.slice(0, 50)) {
    count++;
    const applied = world.firstAppliedAt.get(id);
    if (applied === undefined) return Number.POSITIVE_INFINITY;
    last = Math.max(last, applied);
  }
  return count === 0 ? Number.NaN : last - since;
}

/** Every dispatcher process that was started is still running (none died of what the scenario did). */
export function deadDispatchers(world: World): string[] {
  return world.dispatchers.flatMap((d, i) =>
    d && !d.alive ? [`dispatcher ${i}: ${d.stderr.slice(-2000)}`] : [],
  );
}
