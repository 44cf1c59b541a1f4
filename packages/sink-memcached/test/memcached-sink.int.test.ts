import { randomBytes } from 'node:crypto';
import { describeSink } from '@walbox/sink-testkit';
import memjs from 'memjs';
import { afterAll, describe, expect, inject, it } from 'vitest';
import type { Entry, Sink, SinkContext } from '../../../src/index.js';
import { isolatedWalbox } from '../../../test/support/db.js';
import { FAST } from '../../../test/support/dispatchers.js';
import { freePort } from '../../../test/support/free-port.js';
import { until } from '../../../test/support/recording-sink.js';
import { canStart, serverAvailable } from '../../../test/support/required-servers.js';
import { memcachedServers, startMemcached } from '../../../test/support/servers.js';
import {
  CasContentionError,
  createMemcachedSink,
  decodeMemcachedValue,
  MemcachedSinkConfigError,
} from '../src/index.js';

// Without MEMCACHED_SERVERS or a memcached binary every test here is skipped (global setup prints why) and
// nothing connects to `servers`. The tests that stop or freeze a memcached of their own need the binary.
const memcached = serverAvailable('memcached');
const itOwn = it.runIf(canStart('memcached'));
const servers = memcached ? await memcachedServers() : '127.0.0.1:11211';
// A prefix of this run's own, so runs against a shared memcached never meet each other's versions.
const prefix = `walbox-test:${randomBytes(6).toString('hex')}:`;
const quiet = { logger: { log: () => {} } };
const admin = memjs.Client.create(servers, quiet);
afterAll(() => admin.close());

const raw = async (key: string, client = admin) => (await client.get(key)).value;

describeSink.runIf(memcached)(
  'memcached',
  async () => {
    // A memcached of its own where the binary is there, so the outage case can stop and restart it.
    const own = canStart('memcached') ? await startMemcached() : undefined;
    const target = own?.servers ?? servers;
    const reader = memjs.Client.create(target, quiet);
    return {
      create: () => createMemcachedSink({ servers: target, keyPrefix: prefix }),
      createDead: async () =>
        createMemcachedSink({ servers: `127.0.0.1:${await freePort()}`, keyPrefix: prefix }),
      read: async (namespace, key) => {
        const item = decodeMemcachedValue(await raw(`${prefix}${namespace}:${key}`, reader));
        return item?.deleted === false ? item.value : undefined;
      },
      close: async () => {
        reader.close();
        await own?.stop();
      },
      outage: own && { stop: own.stop, start: own.start },
    };
  },
  { databaseUrl: inject('databaseUrl') },
);

const { pool, walbox } = await isolatedWalbox('memcached-sink');
let seq = 0;
const ns = () => `memcached-${++seq}`;
const ctx: SinkContext = {
  namespace: 'x',
  target: 'cache',
  partition: 0,
  signal: new AbortController().signal,
};
const entry = (namespace: string, id: number, key: string, op: string, payload: unknown = null) =>
  ({ id: String(id), namespace, key, op, payload }) as Entry;

describe.runIf(memcached)('memcached sink', () => {
  it('is a walbox Sink: a dispatcher delivers through it and closes it when it stops', async () => {
    const sink = createMemcachedSink({ servers, name: 'cache', keyPrefix: prefix }) satisfies Sink;
    expect(sink.name).toBe('cache');
    expect(typeof sink.apply).toBe('function');
    expect(typeof sink.close).toBe('function');
    const n = ns();
    await walbox.namespaces.upsert({ name: n, targets: ['cache'] });
    const d = walbox.dispatcher({ sinks: { cache: sink }, ...FAST });
    try {
      await d.start();
      const e = await walbox.append(pool, { namespace: n, key: 'a', op: 'upsert', payload: { v: 1 } });
      const stored = () => raw(`${prefix}${n}:a`).then(decodeMemcachedValue);
      await until(async () => (await stored())?.version === e.id, 10_000, 'the entry');
      expect(await stored()).toEqual({ version: e.id, deleted: false, value: { v: 1 } });
    } finally {
      await d.stop();
    }
    // The dispatcher owns the sinks it was given: stopping it closed this one.
    await expect(sink.apply([entry(n, 2, 'a', 'upsert')], ctx)).rejects.toThrow(/is closed/);
  });

  it('names the bad field of a config', () => {
    expect(() => createMemcachedSink({ keyPrefix: 'x' })).toThrow(MemcachedSinkConfigError);
    expect(() => createMemcachedSink({ keyPrefix: 'x' })).toThrow(/servers: give exactly one/);
    expect(() => createMemcachedSink({ servers, ttlSeconds: 31 * 24 * 3600 })).toThrow(/ttlSeconds/);
  });

  it('stores the value with its version, and a tombstone for a delete', async () => {
    const sink = createMemcachedSink({ servers, keyPrefix: prefix });
    const n = ns();
    await sink.apply([entry(n, 7, 'a', 'upsert', { x: 1 }), entry(n, 8, 'b', 'delete')], ctx);
    expect((await raw(`${prefix}${n}:a`))?.toString()).toBe('{"v":"7","d":{"x":1}}');
    expect((await raw(`${prefix}${n}:b`))?.toString()).toBe('{"v":"8","deleted":true}');
    await sink.close();
  });

  it('overwrites a value it did not write, and skips other ops', async () => {
    const sink = createMemcachedSink({ servers, keyPrefix: prefix });
    const n = ns();
    await admin.set(`${prefix}${n}:a`, 'plain', {});
    await sink.apply([entry(n, 1, 'a', 'upsert', 'mine'), entry(n, 2, 'a', 'touch', 'ignored')], ctx);
    expect(decodeMemcachedValue(await raw(`${prefix}${n}:a`))).toEqual({
      version: '1',
      deleted: false,
      value: 'mine',
    });
    await sink.close();
  });

  it('fails the entry whose key or value memcached cannot hold, and only that key', async () => {
    const sink = createMemcachedSink({ servers, keyPrefix: prefix });
    const n = ns();
    const result = await sink.apply(
      [
        entry(n, 1, 'x'.repeat(300), 'upsert', 'long key'),
        entry(n, 2, 'big', 'upsert', 'y'.repeat(2 * 1024 * 1024)),
        entry(n, 3, 'fine', 'upsert', 'ok'),
        entry(n, 4, 'big', 'upsert', 'y'.repeat(3 * 1024 * 1024)),
      ],
      ctx,
    );
    expect(result?.failed?.map((f) => f.id).sort()).toEqual(['1', '2']);
    expect(String(result?.failed?.find((f) => f.id === '2')?.error)).toMatch(/too large/);
    expect(decodeMemcachedValue(await raw(`${prefix}${n}:fine`))?.value).toBe('ok');
    await sink.close();
  });

  it('maps keys and values through keyFor and valueFor, and expires them with ttlSeconds', async () => {
    const sink = createMemcachedSink({
      servers,
      keyPrefix: prefix,
      keyFor: (e) => `custom:${e.key}`,
      valueFor: (e) => ({ wrapped: e.payload }),
      ttlSeconds: 1,
    });
    const n = ns();
    await sink.apply([entry(n, 1, 'a', 'upsert', 5)], ctx);
    expect(decodeMemcachedValue(await raw(`${prefix}custom:a`))?.value).toEqual({ wrapped: 5 });
    // memcached expires on whole-second boundaries: at most 2 s later the item is gone.
    await expect.poll(() => raw(`${prefix}custom:a`), { timeout: 4000, interval: 200 }).toBeNull();
    await sink.close();
  });

  it('lets concurrent writers of one key end with the newest entry', async () => {
    // Under a dispatcher one process writes a key at a time; other writers of the cache still race it.
    const sinks = Array.from({ length: 4 }, () =>
      createMemcachedSink({ servers, keyPrefix: prefix, maxCasAttempts: 100 }),
    );
    const n = ns();
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        sinks[i % 4]!.apply([entry(n, i + 1, 'hot', 'upsert', i + 1)], ctx),
      ),
    );
    expect(results.flatMap((r) => r?.failed ?? [])).toEqual([]);
    expect(decodeMemcachedValue(await raw(`${prefix}${n}:hot`))?.value).toBe(40);
    await Promise.all(sinks.map((s) => s.close()));
  });

  it('fails the entry, not the batch, when other writers keep winning the compare-and-swap', async () => {
    const sinks = Array.from({ length: 8 }, () =>
      createMemcachedSink({ servers, keyPrefix: prefix, maxCasAttempts: 1 }),
    );
    const n = ns();
    const results = await Promise.all(
      Array.from({ length: 80 }, (_, i) =>
        sinks[i % 8]!.apply([entry(n, i + 1, 'hot', 'upsert', i + 1)], ctx),
      ),
    );
    const failed = results.flatMap((r) => r?.failed ?? []);
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.every((f) => f.error instanceof CasContentionError)).toBe(true);
    await Promise.all(sinks.map((s) => s.close()));
  });

  itOwn('fails while memcached is down, and applies again once it is back', async () => {
    const server = await startMemcached();
    const sink = createMemcachedSink({ servers: server.servers });
    await sink.apply([entry('n', 1, 'a', 'upsert', 'one')], ctx);
    await server.stop();
    await expect(sink.apply([entry('n', 2, 'a', 'upsert', 'two')], ctx)).rejects.toThrow();
    await server.start(); // an empty memcached
    await expect
      .poll(
        async () =>
          sink.apply([entry('n', 3, 'a', 'upsert', 'three')], ctx).then(
            () => true,
            () => false,
          ),
        {
          timeout: 10_000,
          interval: 200,
        },
      )
      .toBe(true);
    const client = memjs.Client.create(server.servers, quiet);
    expect(decodeMemcachedValue(await raw('walbox:n:a', client))?.value).toBe('three');
    client.close();
    await sink.close();
  });

  itOwn('fails within seconds when memcached hangs', async () => {
    const server = await startMemcached();
    const sink = createMemcachedSink({ servers: server.servers, timeoutMs: 500 });
    await sink.apply([entry('n', 1, 'a', 'upsert', 'one')], ctx);
    await server.freeze();
    try {
      const started = Date.now();
      await expect(sink.apply([entry('n', 2, 'a', 'upsert', 'two')], ctx)).rejects.toThrow();
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      server.kill('SIGCONT');
    }
    await sink.close();
  });

  it('leaves a client it was given open', async () => {
    const client = memjs.Client.create(servers, quiet);
    const sink = createMemcachedSink({ client, keyPrefix: prefix });
    const n = ns();
    await sink.apply([entry(n, 1, 'a', 'upsert', 'x')], ctx);
    await sink.close();
    expect(decodeMemcachedValue(await raw(`${prefix}${n}:a`, client))?.value).toBe('x');
    client.close();
  });
});
