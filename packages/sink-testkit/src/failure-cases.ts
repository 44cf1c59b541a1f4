import type { SinkEntry } from '@walbox/sink-kit';
import { expect, it } from 'vitest';
import { context, entry, until } from './entries.js';
import { failedIds, type Suite } from './suite.js';

/** An entry whose id is not a bigint: every sink on the kit's lastPerKey fails it. */
const badId = (e: SinkEntry): SinkEntry => ({ ...e, id: `${e.id}-not-a-bigint` });

/** Partial batch failure, an unreachable store, and a store that goes down and comes back. */
export function failureCases(s: Suite): void {
  it('fails only the entry the store refuses, and applies nothing later of its key in that batch', async () => {
    const ns = s.fresh();
    const poison = s.harness().poison ?? badId;
    const bad = poison(entry(ns, 2, 'b', 'upsert', 'v2'));
    const failed = await s.applyFailing([
      entry(ns, 1, 'a', 'upsert', 'v1'),
      bad,
      entry(ns, 3, 'b', 'upsert', 'v3'),
      entry(ns, 4, 'c', 'upsert', 'v4'),
    ]);
    // The failed entry is named; a sink may name the later entries of its key too, never another key's.
    expect(failed).toContain(bad.id);
    expect(failed.filter((id) => id !== bad.id && id !== '3')).toEqual([]);
    expect(await s.read(ns, 'a')).toBe('v1');
    expect(await s.read(ns, 'b')).toBeUndefined();
    expect(await s.read(ns, 'c')).toBe('v4');
    // The dispatcher then re-delivers the key from the failed entry on.
    await s.apply([entry(ns, 2, 'b', 'upsert', 'v2'), entry(ns, 3, 'b', 'upsert', 'v3')]);
    expect(await s.read(ns, 'b')).toBe('v3');
  });

  it('throws from apply within a few seconds when the store is unreachable', async () => {
    const dead = await s.harness().createDead();
    try {
      const ns = s.fresh();
      const started = Date.now();
      await expect(dead.apply([entry(ns, 1, 'k', 'upsert', 'v')], context(ns))).rejects.toBeInstanceOf(Error);
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await dead.close?.();
    }
  });

  it('fails while the store is down and converges once it is back, nothing lost or reordered', async (t) => {
    const outage = s.harness().outage;
    if (!outage) t.skip();
    const ns = s.fresh();
    const sink = s.sink();
    await s.apply([entry(ns, 1, 'a', 'upsert', 'a1'), entry(ns, 2, 'b', 'upsert', 'b2')]);
    const during = [
      entry(ns, 3, 'a', 'upsert', 'a3'),
      entry(ns, 4, 'b', 'delete'),
      entry(ns, 5, 'c', 'upsert', 'c5'),
      entry(ns, 6, 'a', 'upsert', 'a6'),
    ];
    await outage!.stop();
    try {
      await expect(sink.apply(Object.freeze(during), context(ns))).rejects.toBeInstanceOf(Error);
    } finally {
      await outage!.start();
    }
    // The dispatcher retries the same batch with the same sink until it goes through.
    await until(
      async () =>
        sink.apply(Object.freeze(during), context(ns)).then(
          (r) => failedIds(r).length === 0,
          () => false,
        ),
      s.options.convergeTimeoutMs,
      'the sink to apply again after the store came back',
    );
    expect(await s.read(ns, 'a')).toBe('a6');
    expect(await s.read(ns, 'b')).toBeUndefined();
    expect(await s.read(ns, 'c')).toBe('c5');
    // Older entries arriving after the outage are still refused.
    await s.apply([entry(ns, 3, 'a', 'upsert', 'a3'), entry(ns, 2, 'b', 'upsert', 'b2')]);
    expect(await s.read(ns, 'a')).toBe('a6');
    expect(await s.read(ns, 'b')).toBeUndefined();
  });
}
