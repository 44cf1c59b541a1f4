import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installPacked, type PackedPackage } from '../../../test/support/packed-package.js';
import { serverAvailable } from '../../../test/support/required-servers.js';
import { redisUrl } from '../../../test/support/servers.js';

const prefix = `walbox-test:${randomBytes(6).toString('hex')}:`;
let packed: PackedPackage;
// The test that applies a batch is skipped without REDIS_URL or a redis-server binary (global setup prints
// why); the others need no server.
const redis = serverAvailable('redis-server');

beforeAll(async () => {
  packed = await installPacked(fileURLToPath(new URL('..', import.meta.url)));
});
afterAll(async () => {
  await packed?.remove();
});

describe('@walbox/sink-redis as installed from npm', () => {
  it('ships compiled JavaScript, its declarations and the Lua script, not the TypeScript sources', () => {
    expect(packed.files).toEqual(
      expect.arrayContaining(['dist/index.js', 'dist/index.d.ts', 'dist/version-guard.lua', 'README.md']),
    );
    expect(packed.files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    expect(packed.manifest.exports).toEqual({
      '.': { types: './dist/index.d.ts', default: './dist/index.js' },
    });
  });

  it.runIf(redis)('runs under plain node and applies a batch to Redis', async () => {
    const url = await redisUrl();
    const r = await packed.node(
      `import { createRedisSink } from '@walbox/sink-redis';
const sink = createRedisSink({ url: process.env.REDIS_URL, keyPrefix: process.env.PREFIX });
const result = await sink.apply([{ id: '7', namespace: 'users', key: '42', op: 'upsert', payload: { plan: 'pro' } }]);
await sink.close();
console.log(JSON.stringify(result ?? 'applied'));
`,
      { REDIS_URL: url, PREFIX: prefix },
    );
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('"applied"');
    const admin = new Redis(url);
    try {
      expect(await admin.get(`${prefix}users:42`)).toBe('{"plan":"pro"}');
      await admin.del(`${prefix}users:42`, `${prefix}users:42#version`);
    } finally {
      await admin.quit();
    }
  });

  it('gives TypeScript users its types through the exports map', async () => {
    const r = await packed.typecheck(
      `import { createRedisSink, type RedisSinkConfig, RedisSinkConfigError } from '@walbox/sink-redis';
const config: RedisSinkConfig = { url: 'redis://127.0.0.1:6379', ttlSeconds: 60 };
export const sink = createRedisSink(config);
export const code: 'INVALID_CONFIG' = new RedisSinkConfigError('url', 'bad').code;
// @ts-expect-error not an option: the declarations are real types, not any
createRedisSink({ url: 'redis://127.0.0.1:6379', ttlSecond: 60 });
`,
    );
    expect(r.stdout + r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});
