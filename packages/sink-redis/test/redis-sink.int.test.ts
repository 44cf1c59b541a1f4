import { randomBytes } from 'node:crypto';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { describeSink } from '@walbox/sink-testkit';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import type { Entry, Sink, SinkContext } from '../../../src/index.js';
import { isolatedWalbox } from '../../../test/support/db.js';
import { FAST } from '../../../test/support/dispatchers.js';
import { freePort } from '../../../test/support/free-port.js';
import { until } from '../../../test/support/recording-sink.js';
import { canStart, serverAvailable } from '../../../test/support/required-servers.js';
import { redisUrl, startRedis } from '../../../test/support/servers.js';
import { createRedisSink, RedisSinkConfigError } from '../src/index.js';

// Without REDIS_URL or a redis-server binary every test here is skipped (global setup prints why) and nothing
// connects to `url`. The tests that stop, freeze or reconfigure a Redis of their own need the binary.
const redis = serverAvailable('redis-server');
const itOwn = it.runIf(canStart('redis-server'));
const url = redis ? await redisUrl() : 'redis://127.0.0.1:6379';
// A prefix of this run's own, so runs against a shared Redis never meet each other's versions.
const prefix = `walbox-test:${randomBytes(6).toString('hex')}:`;
const admin = new Redis(url, { lazyConnect: true });
if (redis) await admin.connect();
afterAll(async () => {
  if (!redis) return;
  const keys = await admin.keys(`${prefix}*`);
  for (let i = 0; i < keys.length; i += 500) await admin.del(...keys.slice(i, i + 500));
  await admin.quit();
});

describeSink.runIf(redis)(
  'redis',
  async () => {
    // A redis-server of its own where the binary is there, so the outage case can stop and restart it.
    const own = canStart('redis-server') ? await startRedis() : undefined;
    const target = own?.url ?? url;
    const reader = new Redis(target);
    reader.on('error', () => {}); // it reconnects after the outage case's restart
    return {
      create: () => createRedisSink({ url: target, keyPrefix: prefix }),
      createDead: async () =>
        createRedisSink({ url: `redis://127.0.0.1:${await freePort()}`, keyPrefix: prefix }),
      read: async (namespace, key) => {
        const value = await reader.get(`${prefix}${namespace}:${key}`);
        return value === null ? undefined : JSON.parse(value);
      },
      close: async () => {
        reader.disconnect();
        await own?.stop();
      },
      outage: own && { stop: own.stop, start: own.start },
    };
  },
  { databaseUrl: inject('databaseUrl') },
);

const { pool, walbox } = await isolatedWalbox('redis-sink');
let seq = 0;
const ns = () => `redis-${++seq}`;
const ctx: SinkContext = {
  namespace: 'x',
  target: 'cache',
  partition: 0,
  signal: new AbortController().signal,
};
const entry = (namespace: string, id: number, key: string, op: string, payload: unknown = null) =>
  ({ id: String(id), namespace, key, op, payload }) as Entry;

describe.runIf(redis)('redis sink', () => {
  it('is a walbox Sink: a dispatcher delivers through it and closes it when it stops', async () => {
    const sink = createRedisSink({ url, name: 'cache', keyPrefix: prefix }) satisfies Sink;
    expect(sink.name).toBe('cache');
    expect(typeof sink.apply).toBe('function');
    expect(typeof sink.close).toBe('function');
    const n = ns();
    await walbox.namespaces.upsert({ name: n, targets: ['cache'] });
    const d = walbox.dispatcher({ sinks: { cache: sink }, ...FAST });
    try {
      await d.start();
      const e = await walbox.append(pool, { namespace: n, key: 'a', op: 'upsert', payload: { v: 1 } });
      await until(async () => (await admin.get(`${prefix}${n}:a#version`)) === e.id, 10_000, 'the entry');
      expect(await admin.get(`${prefix}${n}:a`)).toBe('{"v":1}');
    } finally {
      await d.stop();
    }
    // The dispatcher owns the sinks it was given: stopping it closed this one.
    await expect(sink.apply([entry(n, 2, 'a', 'upsert')], ctx)).rejects.toThrow(/is closed/);
  });

  it('names the bad field of a config', () => {
    expect(() => createRedisSink({ url: 'http://x' })).toThrow(RedisSinkConfigError);
    expect(() => createRedisSink({ keyPrefix: 'x' })).toThrow(
      /url: give exactly one of url, cluster and client/,
    );
    expect(() => createRedisSink({ url, ttlSeconds: 0 })).toThrow(/ttlSeconds/);
    expect(() => createRedisSink({ url, keyprefix: 'x' } as never)).toThrow(/keyprefix/);
    expect(() => createRedisSink({ url, cluster: { nodes: [url] } })).toThrow(/url: give exactly one/);
    expect(() => createRedisSink({ cluster: { nodes: [] } })).toThrow(/cluster\.nodes:/);
    expect(() => createRedisSink({ cluster: { nodes: ['127.0.0.1:7000'] } })).toThrow(
      /cluster\.nodes\.0: must start with redis:\/\//,
    );
    expect(() => createRedisSink({ cluster: { nodes: [url] }, hashTag: false })).toThrow(
      /hashTag: must be true on a Redis Cluster/,
    );
    expect(() => createRedisSink({ url, hashTag: true, keyPrefix: 'a{b}:' })).toThrow(/keyPrefix: must not/);
  });

  it('hash-tags the part after the prefix with hashTag, as on a cluster', async () => {
    const sink = createRedisSink({ url, keyPrefix: prefix, hashTag: true });
    const n = ns();
    await sink.apply([entry(n, 1, 'a', 'upsert', 'x'), entry(n, 2, 'b}', 'upsert', 'y')], ctx);
    expect(await admin.mget(`${prefix}{${n}:a}`, `${prefix}{${n}:a}#version`)).toEqual(['"x"', '1']);
    expect(await admin.mget(`${prefix}{${n}:b}}`, `${prefix}{${n}:b}}#version`)).toEqual(['"y"', '2']);
    await sink.close();
  });

  it('maps keys and values through keyFor and valueFor, and skips other ops', async () => {
    const sink = createRedisSink({
      url,
      keyPrefix: prefix,
      keyFor: (e) => `custom:${e.key}`,
      valueFor: (e) => `<${(e.payload as { n: number }).n}>`,
    });
    const n = ns();
    await sink.apply([entry(n, 1, 'a', 'upsert', { n: 1 }), entry(n, 2, 'a', 'touch', { n: 2 })], ctx);
    expect(await admin.get(`${prefix}custom:a`)).toBe('<1>');
    expect(await admin.get(`${prefix}custom:a#version`)).toBe('1');
    await sink.close();
  });

  it('lets actionFor turn a custom op into a delete', async () => {
    const sink = createRedisSink({
      url,
      keyPrefix: prefix,
      actionFor: (e) => (e.op === 'purge' ? 'delete' : e.op === 'upsert' ? 'upsert' : 'skip'),
    });
    const n = ns();
    await sink.apply([entry(n, 1, 'a', 'upsert', 'x')], ctx);
    await sink.apply([entry(n, 2, 'a', 'purge')], ctx);
    expect(await admin.exists(`${prefix}${n}:a`)).toBe(0);
    expect(await admin.get(`${prefix}${n}:a#version`)).toBe('2');
    await sink.close();
  });

  it('expires values with ttlSeconds and tombstones with tombstoneTtlSeconds', async () => {
    const sink = createRedisSink({ url, keyPrefix: prefix, ttlSeconds: 100, tombstoneTtlSeconds: 50 });
    const n = ns();
    await sink.apply([entry(n, 1, 'a', 'upsert', 'x'), entry(n, 2, 'b', 'delete')], ctx);
    expect(await admin.ttl(`${prefix}${n}:a`)).toBeGreaterThan(90);
    expect(await admin.ttl(`${prefix}${n}:a#version`)).toBeGreaterThan(90);
    const tombstone = await admin.ttl(`${prefix}${n}:b#version`);
    expect(tombstone).toBeGreaterThan(40);
    expect(tombstone).toBeLessThanOrEqual(50);
    await sink.close();
  });

  it('fails only the key whose command Redis rejects, from its first entry on', async () => {
    const sink = createRedisSink({ url, keyPrefix: prefix });
    const n = ns();
    await admin.hset(`${prefix}${n}:bad#version`, 'x', '1'); // GET on a hash: WRONGTYPE
    const result = await sink.apply(
      [
        entry(n, 1, 'bad', 'upsert', 1),
        entry(n, 2, 'good', 'upsert', 2),
        entry(n, 3, 'bad', 'upsert', 3),
        entry(n, 4, 'odd', 'upsert', 4),
      ].concat([{ ...entry(n, 5, 'odd', 'upsert', 5), id: '05' }]),
      ctx,
    );
    expect(result?.failed?.map((f) => f.id)).toEqual(['4', '1']);
    expect(String(result?.failed?.[1]?.error)).toMatch(/WRONGTYPE/);
    expect(await admin.get(`${prefix}${n}:good`)).toBe('2');
    expect(await admin.exists(`${prefix}${n}:odd`)).toBe(0);
    await sink.close();
  });

  itOwn('fails the batch, not its entries, while Redis refuses every write (out of memory)', async () => {
    const server = await startRedis();
    const sink = createRedisSink({ url: server.url });
    const raw = new Redis(server.url);
    await raw.config('SET', 'maxmemory-policy', 'noeviction');
    await raw.config('SET', 'maxmemory', '1');
    await expect(sink.apply([entry('n', 1, 'a', 'upsert', 'x')], ctx)).rejects.toThrow(/^OOM/);
    await raw.config('SET', 'maxmemory', '0');
    expect(await sink.apply([entry('n', 1, 'a', 'upsert', 'x')], ctx)).toBeUndefined();
    expect(await raw.get('walbox:n:a')).toBe('"x"');
    await raw.quit();
    await sink.close();
  });

  itOwn('loads the script again after Redis forgets it', async () => {
    const server = await startRedis();
    const sink = createRedisSink({ url: server.url });
    const raw = new Redis(server.url);
    await sink.apply([entry('n', 1, 'a', 'upsert', 'x')], ctx);
    await raw.script('FLUSH');
    await sink.apply([entry('n', 2, 'a', 'upsert', 'y')], ctx);
    expect(await raw.get('walbox:n:a')).toBe('"y"');
    await raw.quit();
    await sink.close();
  });

  it('leaves a client it was given open', async () => {
    const client = new Redis(url);
    const sink = createRedisSink({ client, keyPrefix: prefix });
    await sink.apply([entry(ns(), 1, 'a', 'upsert', 'x')], ctx);
    await sink.close();
    expect(await client.ping()).toBe('PONG');
    await client.quit();
  });

  itOwn('fails while Redis is down, and applies again once it is back', async () => {
    const server = await startRedis();
    const sink = createRedisSink({ url: server.url, connectTimeoutMs: 500 });
    await sink.apply([entry('n', 1, 'a', 'upsert', 'one')], ctx);
    await server.stop();
    await expect(sink.apply([entry('n', 2, 'a', 'upsert', 'two')], ctx)).rejects.toThrow();
    await server.start(); // an empty Redis: no saved data
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
    const raw = new Redis(server.url);
    expect(await raw.get('walbox:n:a')).toBe('"three"');
    await raw.quit();
    await sink.close();
  });

  itOwn('fails within the command timeout when Redis hangs', async () => {
    const server = await startRedis();
    const sink = createRedisSink({ url: server.url, commandTimeoutMs: 500 });
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

  it('stops waiting when the dispatcher aborts the batch', async () => {
    // Accepts connections and never answers: the client waits for its ready check.
    const sockets: Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    const sink = createRedisSink({ url: `redis://127.0.0.1:${port}`, connectTimeoutMs: 60_000 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('apply timed out')), 100);
    try {
      await expect(
        sink.apply([entry('n', 1, 'a', 'upsert', 'x')], { ...ctx, signal: controller.signal }),
      ).rejects.toThrow('apply timed out');
    } finally {
      await sink.close();
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });
});
