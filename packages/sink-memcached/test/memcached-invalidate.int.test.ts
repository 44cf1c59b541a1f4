import { randomBytes } from 'node:crypto';
import { compareIds, lastPerKey, type SinkEntry } from '@walbox/sink-kit';
import { describeSink, entry, until } from '@walbox/sink-testkit';
import memjs from 'memjs';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../../test/support/free-port.js';
import { canStart, serverAvailable } from '../../../test/support/required-servers.js';
import { memcachedServers, startMemcached } from '../../../test/support/servers.js';
import {
  createMemcachedSink,
  decodeMemcachedValue,
  MemcachedSinkConfigError,
  readThrough,
} from '../src/index.js';

// Without MEMCACHED_SERVERS or a memcached binary every test here is skipped (global setup prints why).
const memcached = serverAvailable('memcached');
const servers = memcached ? await memcachedServers() : '127.0.0.1:11211';
const prefix = `walbox-test:${randomBytes(6).toString('hex')}:`;
const quiet = { logger: { log: () => {} } };
const admin = memjs.Client.create(servers, quiet);
afterAll(() => admin.close());

/**
 * The source a cache-aside reader refills from (in production, the Postgres tables the entries describe):
 * here a version-guarded map that takes every entry the sink applied. Every case of the suite then reads
 * through the cache, as a reader does, so a stale value left in the cache fails it.
 */
function source() {
  const rows = new Map<string, { id: string; value: unknown }>();
  return {
    take(batch: readonly SinkEntry[], failedIds: readonly string[]) {
      const broken = new Set(
        batch.filter((e) => failedIds.includes(e.id)).map((e) => `${e.namespace}:${e.key}`),
      );
      const { commands } = lastPerKey(batch.filter((e) => !broken.has(`${e.namespace}:${e.key}`)));
      for (const { last, action } of commands) {
        const k = `${last.namespace}:${last.key}`;
        const row = rows.get(k);
        if (row && compareIds(last.id, row.id) <= 0) continue;
        rows.set(k, { id: last.id, value: action === 'delete' ? undefined : last.payload });
      }
    },
    get: async (k: string) => rows.get(k)?.value,
  };
}

describeSink.runIf(memcached)(
  'memcached, invalidate mode',
  async () => {
    const own = canStart('memcached') ? await startMemcached() : undefined;
    const target = own?.servers ?? servers;
    const reader = memjs.Client.create(target, quiet);
    const db = source();
    const wrap = (sink: ReturnType<typeof createMemcachedSink>) => ({
      name: sink.name,
      close: () => sink.close(),
      async apply(batch: readonly SinkEntry[], ctx?: Parameters<typeof sink.apply>[1]) {
        const result = await sink.apply(batch, ctx);
        db.take(
          batch,
          (result?.failed ?? []).map((f) => f.id),
        );
        return result;
      },
    });
    return {
      create: () => wrap(createMemcachedSink({ servers: target, keyPrefix: prefix, mode: 'invalidate' })),
      createDead: async () =>
        createMemcachedSink({
          servers: `127.0.0.1:${await freePort()}`,
          keyPrefix: prefix,
          mode: 'invalidate',
        }),
      read: (namespace, key) =>
        readThrough(reader, `${prefix}${namespace}:${key}`, () => db.get(`${namespace}:${key}`)),
      close: async () => {
        reader.close();
        await own?.stop();
      },
      outage: own && { stop: own.stop, start: own.start },
    };
  },
  { databaseUrl: inject('databaseUrl') },
);

let seq = 0;
const ns = () => `invalidate-${++seq}`;
const itemOf = async (key: string) => decodeMemcachedValue((await admin.get(key)).value);

describe.runIf(memcached)('memcached sink, invalidate mode', () => {
  it('replaces the value with a tombstone that expires after the window, on upsert and delete alike', async () => {
    const sink = createMemcachedSink({
      servers,
      keyPrefix: prefix,
      mode: 'invalidate',
      invalidateWindowSeconds: 1,
    });
    const n = ns();
    const key = `${prefix}${n}:k`;
    await readThrough(admin, key, async () => 'filled by a reader');
    expect(await itemOf(key)).toEqual({ version: '0', deleted: false, value: 'filled by a reader' });
    expect(await sink.apply([entry(n, 7, 'k', 'upsert', 'new')])).toBeUndefined();
    expect(await itemOf(key)).toEqual({ version: '7', deleted: true, value: undefined });
    await until(async () => (await admin.get(key)).value === null, 5000, 'the tombstone to expire');
    await sink.close();
  });

  it('keeps a reader that missed before a change from putting the old value back during the window', async () => {
    const sink = createMemcachedSink({ servers, keyPrefix: prefix, mode: 'invalidate' });
    const n = ns();
    const key = `${prefix}${n}:k`;
    // The reader misses and reads the source; the change commits and the sink invalidates before the reader fills.
    const got = await readThrough(admin, key, async () => {
      expect(await sink.apply([entry(n, 2, 'k', 'upsert', 'new')])).toBeUndefined();
      return 'old';
    });
    expect(got).toBe('old'); // what that reader read; the cache did not take it
    expect(await itemOf(key)).toEqual({ version: '2', deleted: true, value: undefined });
    // Readers during the window go to the source and fill nothing.
    expect(await readThrough(admin, key, async () => 'new')).toBe('new');
    expect(await itemOf(key)).toMatchObject({ version: '2', deleted: true });
    await sink.close();
  });

  it('lets a reader fill the key once the window is over, and invalidates that fill on the next change', async () => {
    const sink = createMemcachedSink({
      servers,
      keyPrefix: prefix,
      mode: 'invalidate',
      invalidateWindowSeconds: 1,
    });
    const n = ns();
    const key = `${prefix}${n}:k`;
    await sink.apply([entry(n, 3, 'k', 'upsert', 'v3')]);
    await until(async () => (await admin.get(key)).value === null, 5000, 'the tombstone to expire');
    expect(await readThrough(admin, key, async () => 'v3')).toBe('v3');
    expect(await readThrough(admin, key, async () => 'not called')).toBe('v3');
    // The next change replaces the reader's fill (version 0) with its tombstone.
    await sink.apply([entry(n, 4, 'k', 'delete')]);
    expect(await itemOf(key)).toMatchObject({ version: '4', deleted: true });
    await sink.close();
  });

  it('shows the race it cannot close: a reader whose load outlasts the window puts a stale value back', async () => {
    const sink = createMemcachedSink({
      servers,
      keyPrefix: prefix,
      mode: 'invalidate',
      invalidateWindowSeconds: 1,
    });
    const n = ns();
    const key = `${prefix}${n}:k`;
    const got = await readThrough(admin, key, async () => {
      await sink.apply([entry(n, 5, 'k', 'upsert', 'new')]);
      await until(async () => (await admin.get(key)).value === null, 5000, 'the tombstone to expire');
      return 'old';
    });
    expect(got).toBe('old');
    expect(await itemOf(key)).toEqual({ version: '0', deleted: false, value: 'old' }); // stale until the next change
    await sink.apply([entry(n, 6, 'k', 'upsert', 'newer')]);
    expect(await itemOf(key)).toMatchObject({ version: '6', deleted: true });
    await sink.close();
  });

  it('refuses the options of the other mode, naming them', () => {
    expect(() => createMemcachedSink({ servers, mode: 'invalidate', ttlSeconds: 60 })).toThrow(
      MemcachedSinkConfigError,
    );
    expect(() => createMemcachedSink({ servers, mode: 'invalidate', valueFor: () => 1 })).toThrow(
      /valueFor: is not used in invalidate mode/,
    );
    expect(() => createMemcachedSink({ servers, invalidateWindowSeconds: 5 })).toThrow(
      /invalidateWindowSeconds: is not used in replica mode/,
    );
    expect(() => createMemcachedSink({ servers, mode: 'invalidate', invalidateWindowSeconds: 0 })).toThrow(
      /invalidateWindowSeconds/,
    );
  });
});
