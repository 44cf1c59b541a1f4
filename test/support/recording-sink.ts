import type { BatchResult, Entry, Sink, SinkContext } from '../../src/index.js';

/** A real in-process sink that records what it applied, per target, with a version guard per key. */
export class RecordingSink implements Sink {
  readonly applied: Entry[] = [];
  readonly batches: Entry[][] = [];
  /** Set to make apply fail: return an Error to throw, or a BatchResult to fail some entries. */
  fault: ((batch: readonly Entry[], ctx: SinkContext) => Error | BatchResult | undefined) | undefined;

  constructor(readonly name: string) {}

  async apply(batch: readonly Entry[], ctx: SinkContext): Promise<void | BatchResult> {
    const fault = this.fault?.(batch, ctx);
    if (fault instanceof Error) throw fault;
    const failed = new Set((fault?.failed ?? []).map((f) => f.id));
    const stopped = new Set<string>();
    const applied: Entry[] = [];
    for (const e of batch) {
      if (failed.has(e.id) || stopped.has(e.key)) {
        stopped.add(e.key);
        continue;
      }
      applied.push(e);
    }
    this.batches.push([...batch]);
    this.applied.push(...applied);
    return fault;
  }

  ids(): string[] {
    return this.applied.map((e) => e.id);
  }

  byKey(): Map<string, string[]> {
    const m = new Map<string, string[]>();
    for (const e of this.applied) m.set(e.key, [...(m.get(e.key) ?? []), e.id]);
    return m;
  }
}

export async function until(cond: () => boolean | Promise<boolean>, timeoutMs = 20_000, what = 'condition') {
  const start = Date.now();
  while (!(await cond())) {
    if (Date.now() - start > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
