import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import type { Entry, SinkContext } from '../../../src/index.js';
import { serverAvailable } from '../../../test/support/required-servers.js';
import { redisUrl } from '../../../test/support/servers.js';
import { createRedisSink, type RedisSinkConfig } from '../src/index.js';

const redis = serverAvailable('redis-server');
const url = redis ? await redisUrl() : 'redis://127.0.0.1:6379';
const prefix = `walbox-test:${randomBytes(6).toString('hex')}:`;
const admin = new Redis(url, { lazyConnect: true });
if (redis) await admin.connect();
afterAll(async () => {
  if (!redis) return;
  const keys = await admin.keys(`${prefix}*`);
  for (let i = 0; i < keys.length; i += 500) await admin.del(...keys.slice(i, i + 500));
  await admin.quit();
});

const ctx: SinkContext = {
  namespace: 'n',
  target: 'cache',
  partition: 0,
  signal: new AbortController().signal,
};
let id = 0;
const entry = (namespace: string, key: string, payload: unknown) =>
  ({ id: String(++id), namespace, key, op: 'upsert', payload }) as Entry;

/** Entry keys that end, or start, with what a key layout adds: the version suffix, braces, escapes. */
const HOSTILE = [
  'a',
  'a#version',
  'a#version#version',
  'a~',
  'a~~',
  'a#version~',
  'a~#version',
  '',
  '#version',
  '~',
  '{a}',
  'a}',
  '}#version',
  'a}#version',
  'ns:a',
];

describe.runIf(redis)('redis sink key layout', () => {
  it('an entry keyed "a#version" leaves the version of key "a" alone (issue 7)', async () => {
    const sink = createRedisSink({ url, keyPrefix: prefix });
    const n = `collide${randomBytes(3).toString('hex')}`;
    await sink.apply([entry(n, 'a', 'old')], ctx);
    await sink.apply([entry(n, 'a#version', 'zzzzzzzzzzzzzzzzzzzzzzzz')], ctx);
    await sink.apply([entry(n, 'a', 'new')], ctx);
    expect(await admin.get(`${prefix}${n}:a`)).toBe('"new"');
    await sink.close();
  });

  const layouts: Array<[string, Partial<RedisSinkConfig>]> = [
    ['default', {}],
    ['hashTag', { hashTag: true }],
    ['keyFor', { keyFor: (e) => `k/${e.key}` }],
    ['suffix "!"', { versionSuffix: '!' }],
  ];
  for (const [label, options] of layouts) {
    it(`${label}: every entry key has value and version keys of its own`, async () => {
      const keyPrefix = `${prefix}${label.replace(/\W/g, '')}:`;
      const sink = createRedisSink({ url, keyPrefix, ...options });
      const n = `ns${randomBytes(3).toString('hex')}`;
      const keys = HOSTILE.filter((k) => !(options.hashTag && (k === '' || k.startsWith('}'))));
      // Two rounds in opposite orders: whatever one key writes must not touch another key's value or version.
      await sink.apply(
        keys.map((k) => entry(n, k, `first ${k}`)),
        ctx,
      );
      for (const k of [...keys].reverse()) await sink.apply([entry(n, k, `second ${k}`)], ctx);
      const seen = new Map<string, string>();
      for (const k of keys) {
        const { value, version } = sink.keysFor(n, k);
        for (const redisKey of [value, version]) {
          expect(seen.get(redisKey), `${redisKey} is used by two entry keys`).toBeUndefined();
          seen.set(redisKey, k);
        }
        expect(await admin.get(value), `value of ${JSON.stringify(k)}`).toBe(JSON.stringify(`second ${k}`));
        expect(await admin.get(version)).toMatch(/^[0-9]+$/);
      }
      // Nothing else was written under the prefix.
      expect((await admin.keys(`${keyPrefix}*`)).sort()).toEqual([...seen.keys()].sort());
      await sink.close();
    });
  }

  it('refuses a version suffix that would make the layout ambiguous', () => {
    expect(() => createRedisSink({ url, versionSuffix: 'v~' })).toThrow(/versionSuffix/);
    expect(() => createRedisSink({ url, versionSuffix: 'v}' })).toThrow(/versionSuffix/);
  });
});

describe.runIf(redis)('redis sink data of the 0.1 layout', () => {
  it('a version key clobbered by a value (not an id) no longer blocks its key', async () => {
    const sink = createRedisSink({ url, keyPrefix: prefix });
    const n = `old${randomBytes(3).toString('hex')}`;
    await sink.apply([entry(n, 'a', 'old')], ctx);
    await admin.set(`${prefix}${n}:a#version`, JSON.stringify('a value written by 0.1'));
    await sink.apply([entry(n, 'a', 'new')], ctx);
    expect(await admin.get(`${prefix}${n}:a`)).toBe('"new"');
    expect(await admin.get(`${prefix}${n}:a#version`)).toBe(String(id));
    await sink.close();
  });
});
