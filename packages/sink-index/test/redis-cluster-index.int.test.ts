import { randomBytes } from 'node:crypto';
import { Cluster } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { isolatedWalbox } from '../../../test/support/db.js';
import { canStart } from '../../../test/support/required-servers.js';
import { startRedisCluster } from '../../../test/support/servers.js';
import { createRedisIndexSink } from '../src/index.js';
import { indexScenarios } from './index-scenarios.js';

// Three masters of this file's own, the slots split between them. They need the redis-server binary (REDIS_URL
// is no cluster): without it every test here is skipped and nothing connects.
const redis = canStart('redis-server');
const cluster = redis ? await startRedisCluster(3) : undefined;
const nodes = cluster?.urls ?? [];
const prefix = `walbox-index-test:${randomBytes(6).toString('hex')}:`;
// One client of the test's own, passed to every sink (a client given to a sink stays open when it closes).
const client = new Cluster([...nodes], { lazyConnect: true });
client.on('error', () => {});
if (cluster) await client.connect();
afterAll(async () => {
  if (!cluster) return;
  await client.quit();
  await cluster.stop();
});

const { pool, walbox, schema } = await isolatedWalbox('sink-index-redis-cluster');
describe.runIf(redis)('redis index sink on a cluster', () => {
  indexScenarios('cluster', {
    pool,
    walbox,
    schema,
    create: (config) => createRedisIndexSink({ ...config, client, keyPrefix: prefix }),
  });

  it('keeps each namespace in one slot and spreads namespaces over the nodes', async () => {
    const namespaces = Array.from({ length: 12 }, (_, i) => `spread-${i}`);
    const sink = createRedisIndexSink({
      client,
      keyPrefix: prefix,
      indexes: Object.fromEntries(
        namespaces.map((ns) => [ns, [{ name: `w-${ns}`, extract: (p: string) => p }]]),
      ),
    });
    await sink.apply(
      namespaces.flatMap((namespace, i) => [
        { id: String(2 * i + 1), namespace, key: 'a', op: 'upsert', payload: 'x' },
        { id: String(2 * i + 2), namespace, key: 'b', op: 'upsert', payload: 'y' },
      ]),
    );
    const slots = new Set<number>();
    for (const ns of namespaces) {
      expect(await sink.lookup(`w-${ns}`, 'x')).toEqual(['a']);
      const keys = [
        `${prefix}{${ns}}:meta`,
        `${prefix}{${ns}}:w-${ns}:0:k`,
        `${prefix}{${ns}}:w-${ns}:0:v:y`,
      ];
      const own = new Set(
        await Promise.all(keys.map(async (k) => Number(await client.cluster('KEYSLOT', k)))),
      );
      expect(own.size).toBe(1);
      slots.add([...own][0]!);
    }
    expect(slots.size).toBeGreaterThan(1);
    await sink.close();
  });
});
