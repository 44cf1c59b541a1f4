import { isDeepStrictEqual } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BatchResult, Entry, Sink, SinkContext } from '../../src/index.js';
import { isolatedWalbox } from './db.js';
import { until } from './recording-sink.js';

/** What a sink package gives the conformance suite: sinks on its real store, and a way to look inside. */
export interface SinkHarness {
  /** A new sink writing to the store under test, with default options apart from key isolation. */
  create(): Sink | Promise<Sink>;
  /** A sink of the same kind pointed at a loopback port where nothing listens. */
  createDead(): Sink | Promise<Sink>;
  /**
   * The value the store holds for (namespace, key), decoded back to the payload, read through a client of the
   * harness's own; undefined when the key is absent or deleted.
   */
  read(namespace: string, key: string): Promise<unknown>;
  /** Releases the harness's clients (and removes the keys it wrote, where the store allows). */
  close(): Promise<void>;
}

/**
 * The tests every sink passes against its real store (as River's driver test runs every driver): applies
 * upserts and deletes, refuses older entries after newer ones (tombstones included), is idempotent, takes
 * large batches, fails fast when the store is down, and works under a real dispatcher.
 * Call it at the top level of a test file; the harness should isolate its keys (a random key prefix) so
 * runs against a shared server do not meet each other's versions.
 */
export function describeSink(name: string, harness: () => Promise<SinkHarness>, runIf = true): void {
  describe.runIf(runIf)(`sink conformance: ${name}`, () => {
    let h: SinkHarness;
    let sink: Sink;
    let n = 0;
    /** A namespace no other test of this run has written to. */
    const fresh = () => `ns${++n}`;

    beforeAll(async () => {
      h = await harness();
      sink = await h.create();
    });
    afterAll(async () => {
      await sink?.close?.();
      await h?.close();
    });

    const apply = async (batch: Entry[], target: Sink = sink) => {
      const result = await target.apply(Object.freeze(batch), ctx(batch[0]?.namespace ?? 'none'));
      expect((result as BatchResult | undefined)?.failed ?? []).toEqual([]);
    };
    const read = (ns: string, key: string) => h.read(ns, key);

    it('applies upserts and deletes', async () => {
      const ns = fresh();
      await apply([
        entry(ns, 1, 'a', 'upsert', { name: 'Ada' }),
        entry(ns, 2, 'b', 'upsert', { name: 'Bob', tags: ['x'] }),
        entry(ns, 3, 'c', 'upsert', null),
      ]);
      expect(await read(ns, 'a')).toEqual({ name: 'Ada' });
      expect(await read(ns, 'b')).toEqual({ name: 'Bob', tags: ['x'] });
      expect(await read(ns, 'c')).toBeNull();
      await apply([entry(ns, 4, 'a', 'delete'), entry(ns, 5, 'b', 'upsert', { name: 'Bea' })]);
      expect(await read(ns, 'a')).toBeUndefined();
      expect(await read(ns, 'b')).toEqual({ name: 'Bea' });
      expect(await read(ns, 'never-written')).toBeUndefined();
    });

    it('refuses an entry older than one already applied (re-delivery after a crash)', async () => {
      const ns = fresh();
      await apply([entry(ns, 20, 'k', 'upsert', 'v20')]);
      await apply([entry(ns, 10, 'k', 'upsert', 'v10')]);
      expect(await read(ns, 'k')).toBe('v20');
      await apply([entry(ns, 15, 'k', 'delete')]);
      expect(await read(ns, 'k')).toBe('v20');
      await apply([entry(ns, 20, 'k', 'upsert', 'v20 again, changed')]);
      expect(await read(ns, 'k')).toBe('v20');
      await apply([entry(ns, 21, 'k', 'upsert', 'v21')]);
      expect(await read(ns, 'k')).toBe('v21');
    });

    it('refuses an older upsert after a newer delete (tombstone)', async () => {
      const ns = fresh();
      await apply([entry(ns, 10, 'k', 'upsert', 'v10')]);
      await apply([entry(ns, 20, 'k', 'delete')]);
      expect(await read(ns, 'k')).toBeUndefined();
      await apply([entry(ns, 10, 'k', 'upsert', 'v10')]);
      await apply([entry(ns, 19, 'k', 'upsert', 'v19')]);
      expect(await read(ns, 'k')).toBeUndefined();
      // A delete delivered before the key was ever written still blocks the older upsert behind it.
      await apply([entry(ns, 30, 'fresh', 'delete')]);
      await apply([entry(ns, 29, 'fresh', 'upsert', 'v29')]);
      expect(await read(ns, 'fresh')).toBeUndefined();
      await apply([entry(ns, 31, 'k', 'upsert', 'v31')]);
      expect(await read(ns, 'k')).toBe('v31');
    });

    it('ends with the last entry of a key when a batch holds several', async () => {
      const ns = fresh();
      await apply([
        entry(ns, 1, 'k', 'upsert', 'one'),
        entry(ns, 2, 'other', 'upsert', 'other'),
        entry(ns, 3, 'k', 'upsert', 'three'),
        entry(ns, 4, 'k', 'delete'),
        entry(ns, 5, 'k', 'upsert', 'five'),
        entry(ns, 6, 'gone', 'upsert', 'six'),
        entry(ns, 7, 'gone', 'delete'),
      ]);
      expect(await read(ns, 'k')).toBe('five');
      expect(await read(ns, 'other')).toBe('other');
      expect(await read(ns, 'gone')).toBeUndefined();
      await apply([entry(ns, 8, 'gone', 'upsert', 'eight')]);
      expect(await read(ns, 'gone')).toBe('eight');
    });

    it('gives the same state when a batch is applied again, whole or in part', async () => {
      const ns = fresh();
      const batch = Array.from({ length: 60 }, (_, i) =>
        i % 7 === 6
          ? entry(ns, i + 1, `k${i % 9}`, 'delete')
          : entry(ns, i + 1, `k${i % 9}`, 'upsert', { i }),
      );
      const keys = Array.from({ length: 9 }, (_, i) => `k${i}`);
      const state = async () => Promise.all(keys.map((k) => read(ns, k)));
      await apply(batch);
      const first = await state();
      expect(first).toEqual(keys.map((k) => expected(batch, k)));
      await apply(batch);
      expect(await state()).toEqual(first);
      await apply(batch.slice(10, 40));
      expect(await state()).toEqual(first);
      await apply(batch.slice(50).concat(entry(ns, 61, 'k0', 'upsert', 'new')));
      expect(await read(ns, 'k0')).toBe('new');
    });

    it('compares ids as bigints, not as strings or doubles', async () => {
      const ns = fresh();
      await apply([entry(ns, '9', 'short', 'upsert', 'nine')]);
      await apply([entry(ns, '10', 'short', 'upsert', 'ten')]);
      expect(await read(ns, 'short')).toBe('ten');
      await apply([entry(ns, '9', 'short', 'upsert', 'nine')]);
      expect(await read(ns, 'short')).toBe('ten');
      // 2^53 and 2^53 + 1 are one double; near 2^63 - 1 doubles are 1,024 apart.
      await apply([entry(ns, '9007199254740992', 'wide', 'upsert', 'a')]);
      await apply([entry(ns, '9007199254740993', 'wide', 'upsert', 'b')]);
      expect(await read(ns, 'wide')).toBe('b');
      await apply([entry(ns, '9223372036854775806', 'max', 'upsert', 'a')]);
      await apply([entry(ns, '9223372036854775807', 'max', 'upsert', 'b')]);
      await apply([entry(ns, '9223372036854775806', 'max', 'upsert', 'c')]);
      expect(await read(ns, 'max')).toBe('b');
    });

    it('keeps the same key of different namespaces apart', async () => {
      const [a, b] = [fresh(), fresh()];
      await apply([entry(a, 5, 'k', 'upsert', 'in a')]);
      await apply([entry(b, 1, 'k', 'upsert', 'in b')]);
      expect(await read(a, 'k')).toBe('in a');
      expect(await read(b, 'k')).toBe('in b');
    });

    it('applies a batch of 1,000 keys', async () => {
      const ns = fresh();
      const batch = Array.from({ length: 1000 }, (_, i) => entry(ns, i + 1, `key-${i}`, 'upsert', { i }));
      await apply(batch);
      const values = await Promise.all(batch.map((e) => read(ns, e.key)));
      expect(values).toEqual(batch.map((e) => e.payload));
    });

    it('throws from apply within a few seconds when the store is unreachable', async () => {
      const dead = await h.createDead();
      try {
        const ns = fresh();
        const started = Date.now();
        await expect(dead.apply([entry(ns, 1, 'k', 'upsert', 'v')], ctx(ns))).rejects.toBeInstanceOf(Error);
        expect(Date.now() - started).toBeLessThan(5000);
      } finally {
        await dead.close?.();
      }
    });

    describe('under a dispatcher', async () => {
      const { pool, walbox } = await isolatedWalbox(`sink-${name}`);

      it('delivers the log so that the store holds the latest value of every key', async () => {
        await walbox.namespaces.upsert({ name: 'users', targets: ['cache'], partitions: 3 });
        const dispatcherSink = await h.create();
        const dispatcher = walbox.dispatcher({ sinks: { cache: dispatcherSink }, pollIntervalMs: 50 });
        await dispatcher.start();
        try {
          const stored: Entry[] = [];
          for (let t = 0; t < 12; t++) {
            const batch = Array.from({ length: 25 }, (_, i) => {
              const key = `u${(t * 25 + i) % 40}`;
              return (t * 25 + i) % 11 === 10
                ? { namespace: 'users', key, op: 'delete' as const }
                : { namespace: 'users', key, op: 'upsert' as const, payload: { t, i } };
            });
            stored.push(...(await walbox.appendMany(pool, batch)));
          }
          const keys = [...new Set(stored.map((e) => e.key))];
          const want = keys.map((k) => expected(stored, k));
          await until(
            async () => {
              const got = await Promise.all(keys.map((k) => read('users', k)));
              // Deep equality, not JSON text: jsonb orders object keys its own way.
              return isDeepStrictEqual(got, want);
            },
            30_000,
            'the store to hold the latest value of every key',
          );
        } finally {
          await dispatcher.stop();
        }
      });
    });
  });
}

/**
 * describeSink, skipped (its harness never called) unless `condition` holds, like vitest's describe.runIf:
 * for a store whose server is missing (see required-servers.ts).
 */
describeSink.runIf = (condition: boolean) => (name: string, harness: () => Promise<SinkHarness>) =>
  describeSink(name, harness, condition);

/** The payload the last entry of `key` leaves, or undefined when it is a delete (or there is none). */
function expected(entries: readonly Entry[], key: string): unknown {
  const last = [...entries]
    .filter((e) => e.key === key)
    .sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1))
    .at(-1);
  return last?.op === 'upsert' ? last.payload : undefined;
}

function entry(
  namespace: string,
  id: number | string,
  key: string,
  op: 'upsert' | 'delete' | (string & {}),
  payload: unknown = null,
): Entry {
  return {
    id: String(id),
    namespace,
    key,
    partition: 0,
    op,
    payload,
    before: null,
    headers: {},
    targets: ['conformance'],
    deliverAt: null,
    idempotencyKey: null,
    xid: String(id),
    createdAt: new Date(),
    actor: null,
  };
}

function ctx(namespace: string): SinkContext {
  return { namespace, target: 'conformance', partition: 0, signal: new AbortController().signal };
}
