// The Redis Streams sink against a real Redis (REDIS_URL, or a redis-server this file starts) and a real
// walbox dispatcher: order per key, the guard that keeps a re-applied batch from adding anything twice (as
// after a dispatcher crash between XADD and the cursor commit), MAXLEN trimming, and failures.
import { randomBytes } from 'node:crypto';
import type { SinkEntry } from '@walbox/sink-kit';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { isolatedWalbox } from '../../../test/support/db.js';
import { checkDeliveries } from '../../../test/support/delivery-check.js';
import { FAST, stopAfterEach } from '../../../test/support/dispatchers.js';
import { until } from '../../../test/support/recording-sink.js';
import { serverAvailable } from '../../../test/support/required-servers.js';
import { redisUrl } from '../../../test/support/servers.js';
import { createRedisStreamSink, type RedisStreamSink, RedisStreamSinkConfigError } from '../src/index.js';

// Without REDIS_URL or a redis-server binary every test here is skipped, and nothing connects.
const available = serverAvailable('redis-server');
const url = available ? await redisUrl() : '';
const prefix = `walbox-test-streams:${randomBytes(6).toString('hex')}:`;
const admin = new Redis(url || 'redis://127.0.0.1:6379', { lazyConnect: true });
admin.on('error', () => {});
if (available) await admin.connect();
const { pool, walbox } = available ? await isolatedWalbox('sink-redis-stream') : ({} as never);
const running = stopAfterEach();
const sinks: RedisStreamSink[] = [];
afterAll(async () => {
  if (!available) return;
  for (const s of sinks) await s.close();
  const keys = await admin.keys(`${prefix}*`);
  if (keys.length > 0) await admin.del(...keys);
  await admin.quit();
});
const sink = (config: Omit<Parameters<typeof createRedisStreamSink>[0], 'url'>) => {
  const s = createRedisStreamSink({ url, ...config });
  sinks.push(s);
  return s;
};

/** The stream's messages as { id, key, ... } objects, oldest first. */
async function read(stream: string): Promise<Array<Record<string, string>>> {
  const messages = await admin.xrange(stream, '-', '+');
  return messages.map(([, fields]) => {
    const o: Record<string, string> = {};
    for (let i = 0; i < fields.length; i += 2) o[fields[i]!] = fields[i + 1]!;
    return o;
  });
}

const entry = (id: string | number, key: string, payload: unknown = Number(id)): SinkEntry => ({
  id: String(id),
  namespace: 'ns',
  key,
  op: 'upsert',
  payload,
});

describe.runIf(available)('Redis Streams sink', () => {
  it('adds every entry through a dispatcher once, in order per key, with its fields', async () => {
    await walbox.namespaces.upsert({ name: 'orders', targets: ['stream'], partitions: 4 });
    const d = walbox.dispatcher({ sinks: { stream: sink({ stream: `${prefix}{namespace}` }) }, ...FAST });
    running.push(d);
    await d.start();
    const log: Array<{ id: string; key: string }> = [];
    for (let i = 0; i < 60; i++) {
      const stored = await walbox.appendMany(
        pool,
        Array.from({ length: 5 }, (_, j) => ({
          namespace: 'orders',
          key: `k${(i * 5 + j) % 12}`,
          op: 'upsert',
          payload: { n: i * 5 + j },
          headers: { traceparent: 'tp' },
        })),
      );
      log.push(...stored.map((s) => ({ id: s.id, key: s.key })));
    }
    const stream = `${prefix}orders`;
    await until(async () => (await admin.xlen(stream)) >= log.length, 30_000, 'every entry in the stream');
    const messages = await read(stream);
    expect(checkDeliveries(log, messages as never)).toEqual({
      lost: [],
      unexpected: [],
      reorderedKeys: [],
      redelivered: 0,
    });
    // Order holds per key; keys of different partitions interleave in any order: find the first entry's message.
    const first = messages.find((m) => m.id === log[0]!.id);
    expect(first).toMatchObject({
      id: log[0]!.id,
      namespace: 'orders',
      key: 'k0',
      op: 'upsert',
      payload: '{"n":0}',
      headers: '{"traceparent":"tp"}',
    });
    expect(first!.xid).toMatch(/^\d+$/);
  });

  it('adds nothing twice when a batch is applied again, whole or in part (a crash before the cursor commit)', async () => {
    const stream = `${prefix}again`;
    const s = sink({ stream });
    const batch = Array.from({ length: 30 }, (_, i) => entry(100 + i, `k${i % 4}`));
    expect(await s.apply(batch.slice(0, 13))).toBeUndefined(); // the part that landed before the "crash"
    expect(await s.apply(batch)).toBeUndefined(); // the survivor applies the whole batch
    expect(await s.apply(batch)).toBeUndefined();
    expect(await s.apply(batch.slice(5, 20))).toBeUndefined();
    expect((await read(stream)).map((m) => m.id)).toEqual(batch.map((e) => e.id));
    // After a SCRIPT FLUSH (or a restart) the sink sends the script again.
    await admin.script('FLUSH');
    expect(await s.apply([...batch, entry(200, 'k0')])).toBeUndefined();
    expect(await admin.xlen(stream)).toBe(31);
  });

  it('compares ids as the bigints they are (no string order, no doubles)', async () => {
    const stream = `${prefix}bigint`;
    const s = sink({ stream });
    await s.apply([entry('9', 'a'), entry('10', 'a'), entry('9007199254740993', 'b')]);
    await s.apply([entry('9007199254740992', 'b'), entry('9', 'a'), entry('11', 'a')]);
    expect((await read(stream)).map((m) => m.id)).toEqual(['9', '10', '9007199254740993', '11']);
  });

  it('trims each stream to maxLen', async () => {
    const stream = `${prefix}trimmed`;
    const s = sink({ stream, maxLen: 10, exactMaxLen: true });
    await s.apply(Array.from({ length: 50 }, (_, i) => entry(1000 + i, `k${i % 3}`)));
    const ids = (await read(stream)).map((m) => m.id);
    expect(ids).toEqual(Array.from({ length: 10 }, (_, i) => String(1040 + i)));
    const rough = sink({ stream: `${prefix}rough`, maxLen: 10 });
    await rough.apply(Array.from({ length: 500 }, (_, i) => entry(1000 + i, `k${i % 3}`)));
    expect(await admin.xlen(`${prefix}rough`)).toBeLessThan(500); // MAXLEN ~ trims whole nodes only
  });

  it('fails a key whose stream cannot be written, from that entry on; other keys are added', async () => {
    const bad = `${prefix}bad`;
    await admin.set(bad, 'not a stream');
    const s = sink({ stream: ({ key }) => (key === 'bad' ? bad : `${prefix}good`) });
    const result = await s.apply([entry(1, 'good'), entry(2, 'bad'), entry(3, 'good'), entry(4, 'bad')]);
    expect(result?.failed?.map((f) => f.id)).toEqual(['2', '4']);
    expect(String(result?.failed?.[0]?.error)).toMatch(/WRONGTYPE/);
    expect((await read(`${prefix}good`)).map((m) => m.id)).toEqual(['1', '3']);
  });

  it('throws when Redis cannot be reached, and validates its config', async () => {
    const s = createRedisStreamSink({ url: 'redis://127.0.0.1:1', connectTimeoutMs: 200 });
    await expect(s.apply([entry(1, 'a')])).rejects.toThrow();
    await s.close();
    expect(() => createRedisStreamSink({ url, maxLen: 0 })).toThrow(RedisStreamSinkConfigError);
    expect(() => createRedisStreamSink({} as never)).toThrow(/url: give exactly one of url and client/);
  });
});
