/** One timed run: how many operations finished, over how long, and each one's latency. */
export interface PhaseResult {
  ops: number;
  items: number;
  elapsedMs: number;
  latenciesMs: number[];
}

/**
 * Runs `op` in a loop on every worker until `seconds` have passed, all workers starting together.
 * `op` returns how many items it handled (1 for a transaction, the batch size for a batch).
 */
export async function runPhase<W>(
  workers: readonly W[],
  seconds: number,
  op: (worker: W) => Promise<number>,
): Promise<PhaseResult> {
  const latenciesMs: number[] = [];
  let ops = 0;
  let items = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  await Promise.all(
    workers.map(async (w) => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        // Not `items += await op(w)`: that reads `items` before the await, and the workers' sums overwrite
        // each other (with 4 workers, about three in four were lost: appendMany's "negative scaling").
        const n = await op(w);
        items += n;
        latenciesMs.push(performance.now() - t0);
        ops++;
      }
    }),
  );
  return { ops, items, elapsedMs: performance.now() - start, latenciesMs };
}

export function mergePhases(phases: readonly PhaseResult[]): PhaseResult {
  return {
    ops: phases.reduce((s, p) => s + p.ops, 0),
    items: phases.reduce((s, p) => s + p.items, 0),
    elapsedMs: phases.reduce((s, p) => s + p.elapsedMs, 0),
    latenciesMs: phases.flatMap((p) => p.latenciesMs),
  };
}

export function perSecond(p: PhaseResult, what: 'ops' | 'items'): number {
  return (p[what] * 1000) / p.elapsedMs;
}

export function percentile(p: PhaseResult, q: number): number {
  const sorted = Float64Array.from(p.latenciesMs).sort();
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/**
 * Runs each variant for `seconds` in total, split into `rounds` slots that alternate (A B, B A, A B, ...)
 * so that drift (checkpoints, autovacuum, table growth) falls on both sides alike.
 */
export async function alternate<V extends Record<string, (seconds: number) => Promise<PhaseResult>>>(
  variants: V,
  seconds: number,
  rounds: number,
): Promise<{ [K in keyof V]: PhaseResult }> {
  const names = Object.keys(variants);
  const runs = new Map<string, PhaseResult[]>(names.map((n) => [n, []]));
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? names : [...names].reverse();
    for (const n of order) runs.get(n)!.push(await variants[n]!(seconds / rounds));
  }
  return Object.fromEntries(names.map((n) => [n, mergePhases(runs.get(n)!)])) as {
    [K in keyof V]: PhaseResult;
  };
}

export const fmt = {
  rate: (n: number) => Math.round(n).toLocaleString('en-US'),
  ms: (n: number) => `${n < 10 ? n.toFixed(2) : n.toFixed(1)}ms`,
  ratio: (n: number) => n.toFixed(2),
};
