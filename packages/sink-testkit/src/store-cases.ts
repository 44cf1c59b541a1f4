import { expect, it } from 'vitest';
import { entry, expected } from './entries.js';
import type { Suite } from './suite.js';

/** Upserts, deletes, the version guard, tombstones, idempotence, per-key order, batch size. */
export function storeCases(s: Suite): void {
  it('applies upserts and deletes', async () => {
    const ns = s.fresh();
    await s.apply([
      entry(ns, 1, 'a', 'upsert', { name: 'Ada' }),
      entry(ns, 2, 'b', 'upsert', { name: 'Bob', tags: ['x'] }),
      entry(ns, 3, 'c', 'upsert', null),
    ]);
    expect(await s.read(ns, 'a')).toEqual({ name: 'Ada' });
    expect(await s.read(ns, 'b')).toEqual({ name: 'Bob', tags: ['x'] });
    expect(await s.read(ns, 'c')).toBeNull();
    await s.apply([entry(ns, 4, 'a', 'delete'), entry(ns, 5, 'b', 'upsert', { name: 'Bea' })]);
    expect(await s.read(ns, 'a')).toBeUndefined();
    expect(await s.read(ns, 'b')).toEqual({ name: 'Bea' });
    expect(await s.read(ns, 'never-written')).toBeUndefined();
  });

  it('refuses an entry older than one already applied (re-delivery after a crash)', async () => {
    const ns = s.fresh();
    await s.apply([entry(ns, 20, 'k', 'upsert', 'v20')]);
    await s.apply([entry(ns, 10, 'k', 'upsert', 'v10')]);
    expect(await s.read(ns, 'k')).toBe('v20');
    await s.apply([entry(ns, 15, 'k', 'delete')]);
    expect(await s.read(ns, 'k')).toBe('v20');
    await s.apply([entry(ns, 20, 'k', 'upsert', 'v20 again, changed')]);
    expect(await s.read(ns, 'k')).toBe('v20');
    await s.apply([entry(ns, 21, 'k', 'upsert', 'v21')]);
    expect(await s.read(ns, 'k')).toBe('v21');
  });

  it('refuses an older upsert after a newer delete (tombstone)', async () => {
    const ns = s.fresh();
    await s.apply([entry(ns, 10, 'k', 'upsert', 'v10')]);
    await s.apply([entry(ns, 20, 'k', 'delete')]);
    expect(await s.read(ns, 'k')).toBeUndefined();
    await s.apply([entry(ns, 10, 'k', 'upsert', 'v10')]);
    await s.apply([entry(ns, 19, 'k', 'upsert', 'v19')]);
    expect(await s.read(ns, 'k')).toBeUndefined();
    // A delete delivered before the key was ever written still blocks the older upsert behind it.
    await s.apply([entry(ns, 30, 'fresh', 'delete')]);
    await s.apply([entry(ns, 29, 'fresh', 'upsert', 'v29')]);
    expect(await s.read(ns, 'fresh')).toBeUndefined();
    await s.apply([entry(ns, 31, 'k', 'upsert', 'v31')]);
    expect(await s.read(ns, 'k')).toBe('v31');
  });

  it('leaves a key deleted when its history is replayed after the delete, whole or in part', async () => {
    const ns = s.fresh();
    const history = [
      entry(ns, 1, 'k', 'upsert', 'v1'),
      entry(ns, 2, 'other', 'upsert', 'o2'),
      entry(ns, 3, 'k', 'upsert', 'v3'),
      entry(ns, 4, 'k', 'delete'),
    ];
    await s.apply(history);
    expect(await s.read(ns, 'k')).toBeUndefined();
    // walbox.replay re-delivers a range of the log; a dead-letter redrive re-delivers one old entry.
    await s.apply(history);
    await s.apply(history.slice(0, 3));
    await s.apply([history[2]!]);
    expect(await s.read(ns, 'k')).toBeUndefined();
    expect(await s.read(ns, 'other')).toBe('o2');
    await s.apply([entry(ns, 5, 'k', 'upsert', 'v5')]);
    expect(await s.read(ns, 'k')).toBe('v5');
  });

  it('ends with the last entry of a key when a batch holds several', async () => {
    const ns = s.fresh();
    await s.apply([
      entry(ns, 1, 'k', 'upsert', 'one'),
      entry(ns, 2, 'other', 'upsert', 'other'),
      entry(ns, 3, 'k', 'upsert', 'three'),
      entry(ns, 4, 'k', 'delete'),
      entry(ns, 5, 'k', 'upsert', 'five'),
      entry(ns, 6, 'gone', 'upsert', 'six'),
      entry(ns, 7, 'gone', 'delete'),
    ]);
    expect(await s.read(ns, 'k')).toBe('five');
    expect(await s.read(ns, 'other')).toBe('other');
    expect(await s.read(ns, 'gone')).toBeUndefined();
    await s.apply([entry(ns, 8, 'gone', 'upsert', 'eight')]);
    expect(await s.read(ns, 'gone')).toBe('eight');
  });

  it('gives the same state when a batch is applied again, whole or in part', async () => {
    const ns = s.fresh();
    const batch = Array.from({ length: 60 }, (_, i) =>
      i % 7 === 6 ? entry(ns, i + 1, `k${i % 9}`, 'delete') : entry(ns, i + 1, `k${i % 9}`, 'upsert', { i }),
    );
    const keys = Array.from({ length: 9 }, (_, i) => `k${i}`);
    const state = async () => Promise.all(keys.map((k) => s.read(ns, k)));
    await s.apply(batch);
    const first = await state();
    expect(first).toEqual(keys.map((k) => expected(batch, k)));
    await s.apply(batch);
    expect(await state()).toEqual(first);
    await s.apply(batch.slice(10, 40));
    expect(await state()).toEqual(first);
    await s.apply(batch.slice(50).concat(entry(ns, 61, 'k0', 'upsert', 'new')));
    expect(await s.read(ns, 'k0')).toBe('new');
  });

  it('compares ids as bigints, not as strings or doubles', async () => {
    const ns = s.fresh();
    await s.apply([entry(ns, '9', 'short', 'upsert', 'nine')]);
    await s.apply([entry(ns, '10', 'short', 'upsert', 'ten')]);
    expect(await s.read(ns, 'short')).toBe('ten');
    await s.apply([entry(ns, '9', 'short', 'upsert', 'nine')]);
    expect(await s.read(ns, 'short')).toBe('ten');
    // 2^53 and 2^53 + 1 are one double; near 2^63 - 1 doubles are 1,024 apart.
    await s.apply([entry(ns, '9007199254740992', 'wide', 'upsert', 'a')]);
    await s.apply([entry(ns, '9007199254740993', 'wide', 'upsert', 'b')]);
    expect(await s.read(ns, 'wide')).toBe('b');
    await s.apply([entry(ns, '9223372036854775806', 'max', 'upsert', 'a')]);
    await s.apply([entry(ns, '9223372036854775807', 'max', 'upsert', 'b')]);
    await s.apply([entry(ns, '9223372036854775806', 'max', 'upsert', 'c')]);
    expect(await s.read(ns, 'max')).toBe('b');
  });

  it('keeps the same key of different namespaces apart', async () => {
    const [a, b] = [s.fresh(), s.fresh()];
    await s.apply([entry(a, 5, 'k', 'upsert', 'in a')]);
    await s.apply([entry(b, 1, 'k', 'upsert', 'in b')]);
    expect(await s.read(a, 'k')).toBe('in a');
    expect(await s.read(b, 'k')).toBe('in b');
  });

  it('applies a batch of 1,000 keys', async () => {
    const ns = s.fresh();
    const batch = Array.from({ length: 1000 }, (_, i) => entry(ns, i + 1, `key-${i}`, 'upsert', { i }));
    await s.apply(batch);
    const values = await Promise.all(batch.map((e) => s.read(ns, e.key)));
    expect(values).toEqual(batch.map((e) => e.payload));
  });
}
