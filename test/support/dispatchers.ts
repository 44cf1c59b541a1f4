import { afterEach } from 'vitest';
import type { Dispatcher } from '../../src/index.js';

/** Dispatcher timings that keep tests quick: short polls, leases and idle release. */
export const FAST = { pollIntervalMs: 50, superviseMs: 500, leaseMs: 5000, idleReleaseMs: 500 } as const;

/** A list for the dispatchers a test file starts; every one is stopped after each test. */
export function stopAfterEach(): Dispatcher[] {
  const running: Dispatcher[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((d) => d.stop()));
  });
  return running;
}
