import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import memjs from 'memjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installPacked, type PackedPackage } from '../../../test/support/packed-package.js';
import { serverAvailable } from '../../../test/support/required-servers.js';
import { memcachedServers } from '../../../test/support/servers.js';

const prefix = `walbox-test:${randomBytes(6).toString('hex')}:`;
let packed: PackedPackage;
// The test that applies a batch is skipped without MEMCACHED_SERVERS or a memcached binary (global setup
// prints why); the others need no server.
const memcached = serverAvailable('memcached');

beforeAll(async () => {
  packed = await installPacked(fileURLToPath(new URL('..', import.meta.url)));
});
afterAll(async () => {
  await packed?.remove();
});

describe('@walbox/sink-memcached as installed from npm', () => {
  it('ships compiled JavaScript and its declarations, not the TypeScript sources', () => {
    expect(packed.files).toEqual(expect.arrayContaining(['dist/index.js', 'dist/index.d.ts', 'README.md']));
    expect(packed.files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    expect(packed.manifest.exports).toEqual({
      '.': { types: './dist/index.d.ts', default: './dist/index.js' },
    });
  });

  it.runIf(memcached)('runs under plain node and applies a batch to memcached', async () => {
    const servers = await memcachedServers();
    const r = await packed.node(
      `import { createMemcachedSink } from '@walbox/sink-memcached';
const sink = createMemcachedSink({ servers: process.env.MEMCACHED_SERVERS, keyPrefix: process.env.PREFIX });
const result = await sink.apply([{ id: '7', namespace: 'users', key: '42', op: 'upsert', payload: { plan: 'pro' } }]);
await sink.close();
console.log(JSON.stringify(result ?? 'applied'));
`,
      { MEMCACHED_SERVERS: servers, PREFIX: prefix },
    );
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('"applied"');
    const admin = memjs.Client.create(servers, { logger: { log: () => {} } });
    try {
      expect((await admin.get(`${prefix}users:42`)).value?.toString()).toBe('{"v":"7","d":{"plan":"pro"}}');
    } finally {
      admin.close();
    }
  });

  it('gives TypeScript users its types through the exports map', async () => {
    const r = await packed.typecheck(
      `import { createMemcachedSink, decodeMemcachedValue, type MemcachedSinkConfig } from '@walbox/sink-memcached';
const config: MemcachedSinkConfig = { servers: '127.0.0.1:11211', ttlSeconds: 60 };
export const sink = createMemcachedSink(config);
export const item = decodeMemcachedValue(null)?.version;
// @ts-expect-error not an option: the declarations are real types, not any
createMemcachedSink({ servers: '127.0.0.1:11211', ttlSecond: 60 });
`,
    );
    expect(r.stdout + r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});
