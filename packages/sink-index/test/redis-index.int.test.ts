import { randomBytes } from 'node:crypto';
import { describeSink } from '@walbox/sink-testkit';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { isolatedWalbox } from '../../../test/support/db.js';
import { freePort } from '../../../test/support/free-port.js';
import { canStart, serverAvailable } from '../../../test/support/required-servers.js';
import { redisUrl, startRedis } from '../../../test/support/servers.js';
import { createRedisIndexSink, type IndexDefinition, IndexSinkConfigError } from '../src/index.js';
import { indexScenarios } from './index-scenarios.js';

// Without REDIS_URL or a redis-server binary every test here is skipped and nothing connects to `url`.
const redis = serverAvailable('redis-server');
const url = redis ? await redisUrl() : 'redis://127.0.0.1:6379';
// A prefix of this run's own, so runs against a shared Redis never meet each other's keys.
const prefix = `walbox-index-test:${randomBytes(6).toString('hex')}:`;
const admin = new Redis(url, { lazyConnect: true });
if (redis) await admin.connect();
afterAll(async () => {
  if (!redis) return;
  const keys = await admin.keys(`${prefix}*`);
  for (let i = 0; i < keys.length; i += 500) await admin.del(...keys.slice(i, i + 500));
  await admin.quit();
});

/** The values `key` is indexed under in generation 0 of `index` (its record), read by hand. */
async function recordOf(client: Redis, keyPrefix: string, namespace: string, index: string, key: string) {
  const rec = await client.hgetBuffer(`${keyPrefix}{${namespace}}:${index}:0:k`, key);
  if (!rec) return undefined;
  const values: string[] = [];
  const enc = rec.subarray(rec.indexOf(124) + 1);
  for (let pos = 0; pos < enc.length; ) {
    const colon = enc.indexOf(58, pos);
    const len = Number(enc.subarray(pos, colon).toString());
    values.push(enc.subarray(colon + 1, colon + 1 + len).toString());
    pos = colon + 1 + len;
  }
  return { version: rec.subarray(0, rec.indexOf(124)).toString(), values };
}

const conformance: Record<string, IndexDefinition[]> = Object.fromEntries(
  Array.from({ length: 40 }, (_, i) => [
    `ns${i + 1}`,
    [{ name: `json-ns${i + 1}`, extract: (p: unknown) => JSON.stringify(p) }],
  ]),
);
describeSink.runIf(redis)(
  'redis index',
  async () => {
    // A redis-server of its own where the binary is there, so the outage case can stop and restart it.
    const own = canStart('redis-server') ? await startRedis() : undefined;
    const target = own?.url ?? url;
    const reader = new Redis(target);
    reader.on('error', () => {}); // it reconnects after the outage case's restart
    return {
      create: () => createRedisIndexSink({ url: target, keyPrefix: prefix, indexes: conformance }),
      createDead: async () =>
        createRedisIndexSink({
          url: `redis://127.0.0.1:${await freePort()}`,
          keyPrefix: prefix,
          indexes: conformance,
        }),
      read: async (namespace, key) => {
        const values = (await recordOf(reader, prefix, namespace, `json-${namespace}`, key))?.values ?? [];
        return values.length === 0 ? undefined : JSON.parse(values[0]!);
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

const { pool, walbox, schema } = await isolatedWalbox('sink-index-redis');
describe.runIf(redis)('redis index sink', () => {
  indexScenarios('redis', {
    pool,
    walbox,
    schema,
    create: (config) => createRedisIndexSink({ ...config, url, keyPrefix: prefix }),
  });

  const sink = createRedisIndexSink({
    url,
    keyPrefix: `${prefix}cases:`,
    indexes: { things: [{ name: 'word', extract: (p: { words?: unknown }) => p.words as string[] }] },
  });
  afterAll(() => sink.close());
  const e = (id: number, key: string, words: unknown, op = 'upsert') => ({
    id: String(id),
    namespace: 'things',
    key,
    op,
    payload: { words },
  });

  it('keeps keys and values apart whatever characters they hold, under one hash tag per namespace', async () => {
    const odd = ['a', 'a:b', 'a:0:k', '1:a', 'x|y', '{t}', '}', 'v:a', 'é€😀', ''];
    await sink.apply(odd.map((w, i) => e(i + 1, `key ${w}|{}:${i}`, [w, `${w}:`])));
    for (const [i, w] of odd.entries()) {
      expect(await sink.lookup('word', w)).toEqual([`key ${w}|{}:${i}`]);
      expect(await sink.lookup('word', `${w}:`)).toEqual([`key ${w}|{}:${i}`]);
    }
    const keys = await admin.keys(`${prefix}cases:*`);
    // Every key of the namespace is in the slot of its tag, {things}.
    expect(new Set(keys.map((k) => k.slice(`${prefix}cases:`.length).split('}')[0]))).toEqual(
      new Set(['{things']),
    );
    expect(await recordOf(admin, `${prefix}cases:`, 'things', 'word', 'key 1:a|{}:3')).toEqual({
      version: '4',
      values: ['1:a', '1:a:'],
    });
  });

  it('loads its scripts again after Redis forgets them', async () => {
    await sink.apply([e(100, 'flush', ['before'])]);
    await admin.script('FLUSH');
    await sink.apply([e(101, 'flush', ['after'])]);
    expect(await sink.lookup('word', 'after')).toEqual(['flush']);
    expect(await sink.lookup('word', 'before')).toEqual([]);
  });

  it('removes the generation a rebuild replaced, and serves lookups from the new one', async () => {
    await sink.apply([e(200, 'r1', ['kept', 'gone']), e(201, 'r2', ['kept'])]);
    const layout = `${prefix}cases:{things}:word:`;
    expect(await admin.keys(`${layout}0:*`)).not.toEqual([]);
    const result = await sink.rebuild('word', {
      snapshot: () => [
        { key: 'r1', payload: { words: ['kept'] } },
        { key: 'r2', payload: { words: ['kept', 'new'] } },
      ],
    });
    expect(result).toMatchObject({ generation: 1, replaced: 0, read: 2 });
    expect(await admin.keys(`${layout}0:*`)).toEqual([]);
    expect(await sink.lookup('word', 'kept')).toEqual(['r1', 'r2']);
    expect(await sink.lookup('word', 'new')).toEqual(['r2']);
    expect(await sink.lookup('word', 'gone')).toEqual([]);
    // A live entry applies over a versionless snapshot row (every entry id is above it).
    await sink.apply([e(202, 'r2', ['later'])]);
    expect(await sink.lookup('word', 'later')).toEqual(['r2']);
  });

  it('names the bad field of a config', () => {
    const indexes = { things: [{ name: 'w', extract: () => 'x' }] };
    expect(() => createRedisIndexSink({ indexes })).toThrow(IndexSinkConfigError);
    expect(() => createRedisIndexSink({ indexes })).toThrow(/url: give exactly one of url and client/);
    expect(() => createRedisIndexSink({ url, indexes, keyPrefix: 'a{b' })).toThrow(
      /keyPrefix: must not contain/,
    );
    expect(() => createRedisIndexSink({ url, indexes: { Bad: indexes.things } })).toThrow(/indexes\.Bad/);
    expect(() => createRedisIndexSink({ url, indexes, onUniqueViolation: 'keep' as never })).toThrow(
      /onUniqueViolation/,
    );
  });
});
