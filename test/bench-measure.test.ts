// The benchmarks' phase runner: what it counts is what the goals are judged on.
import { describe, expect, it } from 'vitest';
import { runPhase } from '../bench/support/measure.js';

describe('runPhase', () => {
  it('counts every item of concurrent workers', async () => {
    const workers = [0, 1, 2, 3];
    const phase = await runPhase(workers, 0.2, async (w) => {
      await new Promise((r) => setTimeout(r, 2 + w));
      return 10;
    });
    expect(phase.ops).toBeGreaterThan(20);
    expect(phase.items).toBe(phase.ops * 10);
  });
});
