import { randomBytes } from 'node:crypto';
import { describeSink } from '@walbox/sink-testkit';
import { Cluster } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import type { Entry, SinkContext } from '../../../src/index.js';
import { freePort } from '../../../test/support/free-port.js';
import { canStart } from '../../../test/support/required-servers.js';
import { startRedisCluster } from '../../../test/support/servers.js';
import { createRedisSink } from '../src/index.js';

// Three masters of this file's own, the slots split between them. They need the redis-server binary (REDIS_URL
// is no cluster): without it every test here is skipped (global setup prints why) and nothing connects.
const redis = canStart('redis-server');
const cluster = redis ? await startRedisCluster(3) : undefined;
const nodes = cluster?.urls ?? [];
const prefix = `walbox-test:${randomBytes(6).toString('hex')}:`;
const admin = new Cluster([...nodes], { lazyConnect: true });
if (cluster) await admin.connect();
afterAll(async () => {
  if (!cluster) return;
  await admin.quit();
  await cluster.stop();
});

/** The keys the sink writes for (namespace, key) on a cluster. */
const keysOf = (namespace: string, key: string) => {
  const value = `${prefix}{${namespace}:${key}}`;
  return { value, version: `${value}#version` };
};
const slotOf = async (key: string) => Number(await admin.cluster('KEYSLOT', key));

describeSink.runIf(redis)(
  'redis cluster',
  async () => ({
    create: () => createRedisSink({ cluster: { nodes }, keyPrefix: prefix }),
    createDead: async () =>
      createRedisSink({ cluster: { nodes: [`redis://127.0.0.1:${await freePort()}`] }, keyPrefix: prefix }),
    read: async (namespace, key) => {
      const value = await admin.get(keysOf(namespace, key).value);
      return value === null ? undefined : JSON.parse(value);
    },
    close: async () => {},
  }),
  { databaseUrl: inject('databaseUrl') },
);

let seq = 0;
const ns = () => `cluster-${++seq}`;
const ctx: SinkContext = {
  namespace: 'x',
  target: 'cache',
  partition: 0,
  signal: new AbortController().signal,
};
const entry = (namespace: string, id: number, key: string, op: string, payload: unknown = null) =>
  ({ id: String(id), namespace, key, op, payload }) as Entry;

describe.runIf(redis)('redis sink on a cluster', () => {
  it('spreads the keys of a batch over the nodes, each value in the slot of its version', async () => {
    const sink = createRedisSink({ cluster: { nodes }, keyPrefix: prefix });
    const n = ns();
    const batch = Array.from({ length: 60 }, (_, i) => entry(n, i + 1, `k${i}`, 'upsert', i));
    expect(await sink.apply(batch, ctx)).toBeUndefined();
    const owners = new Set<string>();
    for (const e of batch) {
      const { value, version } = keysOf(n, e.key);
      expect(await admin.mget(value, version)).toEqual([String(e.payload), e.id]); // MGET: one slot or CROSSSLOT
      owners.add(String(admin.slots[await slotOf(value)]?.[0]));
    }
    expect(owners.size).toBe(3);
    await sink.close();
  });

  it('keeps keys containing braces apart, each value in the slot of its version', async () => {
    const sink = createRedisSink({ cluster: { nodes }, keyPrefix: prefix });
    const n = ns();
    const keys = ['a}b', 'a}c', '{x}', '{', '}', '{}', '}{', 'a{b}c', '{{}}', '}}}'];
    const result = await sink.apply(
      keys.map((k, i) => entry(n, 10 + i, k, 'upsert', k)),
      ctx,
    );
    expect(result).toBeUndefined();
    for (const [i, k] of keys.entries()) {
      const { value, version } = keysOf(n, k);
      expect(await admin.mget(value, version), k).toEqual([JSON.stringify(k), String(10 + i)]);
    }
    // The version guard still works on them: an older entry is refused, a newer delete applies.
    await sink.apply([entry(n, 1, '}', 'upsert', 'old'), entry(n, 100, '{}', 'delete')], ctx);
    expect(await admin.get(keysOf(n, '}').value)).toBe('"}"');
    expect(await admin.mget(keysOf(n, '{}').value, keysOf(n, '{}').version)).toEqual([null, '100']);
    await sink.close();
  });

  it('hash-tags keys through a Cluster client it was given, and leaves the client open', async () => {
    const client = new Cluster([...nodes]);
    const sink = createRedisSink({ client, keyPrefix: prefix, keyFor: (e) => `custom:${e.key}` });
    await sink.apply([entry(ns(), 1, 'a', 'upsert', 'x')], ctx);
    await sink.close();
    expect(await client.mget(`${prefix}{custom:a}`, `${prefix}{custom:a}#version`)).toEqual(['"x"', '1']);
    // keyFor output that would leave an empty hash tag fails its entry, not the batch.
    const bad = createRedisSink({ client, keyPrefix: prefix, keyFor: (e) => e.key });
    const result = await bad.apply([entry(ns(), 1, '}x', 'upsert'), entry(ns(), 2, 'ok', 'upsert')], ctx);
    expect(result?.failed.map((f) => f.id)).toEqual(['1']);
    expect(String(result?.failed[0]?.error)).toMatch(/empty hash tag/);
    await bad.close();
    await client.quit();
  });

  it('sends the script again to the nodes that forgot it', async () => {
    const sink = createRedisSink({ cluster: { nodes }, keyPrefix: prefix });
    const n = ns();
    const batch = (id: number) =>
      Array.from({ length: 30 }, (_, i) => entry(n, id + i, `k${i}`, 'upsert', id));
    await sink.apply(batch(1), ctx);
    await Promise.all(admin.nodes('master').map((node) => node.script('FLUSH')));
    expect(await sink.apply(batch(100), ctx)).toBeUndefined();
    expect(await admin.get(keysOf(n, 'k29').value)).toBe('100');
    await sink.close();
  });

  it('fails the batch, not its entries, while a slot is not served', async () => {
    const sink = createRedisSink({ cluster: { nodes }, keyPrefix: prefix });
    const n = ns();
    const slot = String(await slotOf(keysOf(n, 'a').value));
    const owner = admin.nodes('master').find((node) => admin.slots[Number(slot)]?.[0] === nodeKey(node));
    await owner!.cluster('DELSLOTS', slot);
    try {
      await expect(sink.apply([entry(n, 1, 'a', 'upsert', 'x')], ctx)).rejects.toThrow(
        /CLUSTERDOWN|redirections/,
      );
    } finally {
      await owner!.cluster('ADDSLOTS', slot);
    }
    await expect
      .poll(() => sink.apply([entry(n, 1, 'a', 'upsert', 'x')], ctx).catch((err: Error) => err.message), {
        timeout: 15_000,
        interval: 200,
      })
      .toBeUndefined();
    expect(await admin.get(keysOf(n, 'a').value)).toBe('"x"');
    await sink.close();
  });
});

function nodeKey(node: { options: { host?: string; port?: number } }): string {
  return `${node.options.host}:${node.options.port}`;
}
