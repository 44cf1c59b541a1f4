// The NATS sink against a real nats-server with JetStream (NATS_URL, or one this file starts) and a real
// walbox dispatcher: order per key, the message id and headers, duplicates dropped by the stream, entries
// the stream refuses, a full stream (back-pressure) and a subject no stream captures.
import { DiscardPolicy } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { natsUrl } from '../../../test/support/brokers.js';
import { isolatedWalbox } from '../../../test/support/db.js';
import { checkDeliveries } from '../../../test/support/delivery-check.js';
import { FAST, stopAfterEach } from '../../../test/support/dispatchers.js';
import { until } from '../../../test/support/recording-sink.js';
import { serverAvailable } from '../../../test/support/required-servers.js';
import { createNatsSink, type NatsSink } from '../src/index.js';
import { jetstreamAdmin } from './jetstream-streams.js';

const RETRY_FAST = { limit: 1000, initialDelayMs: 50, maxDelayMs: 300 };
const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

// Without NATS_URL or a nats-server binary every test here is skipped (global setup prints why), and nothing
// is started or connected at the top level.
const available = serverAvailable('nats-server');
const url = available ? await natsUrl() : '';
const admin = available ? await jetstreamAdmin(url) : undefined!;
const { pool, walbox } = available ? await isolatedWalbox('sink-nats') : ({} as never);
const running = stopAfterEach();
const sinks: NatsSink[] = [];
const sink = (config: Omit<Parameters<typeof createNatsSink>[0], 'servers'>) => {
  const s = createNatsSink({ servers: url, ...config });
  sinks.push(s);
  return s;
};

/** Appends `n` entries over `keys` keys, `perTx` per transaction; returns them in id order. */
async function append(namespace: string, n: number, keys: number, perTx = 5) {
  const out: Array<{ id: string; key: string }> = [];
  for (let i = 0; i < n; i += perTx) {
    const client = await pool.connect();
    try {
      await client.query('begin');
      const stored = await walbox.appendMany(
        client,
        Array.from({ length: Math.min(perTx, n - i) }, (_, j) => ({
          namespace,
          key: `k${(i + j) % keys}`,
          op: (i + j) % 9 === 8 ? 'delete' : 'upsert',
          payload: { n: i + j },
          headers: (i + j) % 2 === 0 ? { traceparent } : {},
        })),
      );
      await client.query('commit');
      out.push(...stored.map((s) => ({ id: s.id, key: s.key })));
    } finally {
      client.release();
    }
  }
  return out;
}

describe.runIf(available)('NATS JetStream sink', () => {
  it('publishes every entry once, in order per key, with the entry id as message id and walbox headers', async () => {
    const { name, prefix } = await admin.createStream();
    await walbox.namespaces.upsert({ name: 'orders', targets: ['bus'], partitions: 4 });
    const d = walbox.dispatcher({
      sinks: { bus: sink({ subject: `${prefix}.{namespace}.{key}` }) },
      ...FAST,
    });
    running.push(d);
    await d.start();
    const log = await append('orders', 300, 12);
    await until(async () => (await admin.count(name)) >= log.length, 30_000, 'all entries in the stream');
    const stored = await admin.read(name);
    const check = checkDeliveries(log, stored);
    expect(check).toEqual({ lost: [], unexpected: [], reorderedKeys: [], redelivered: 0 });
    const first = stored.find((m) => m.id === log[0]!.id)!;
    expect(first).toMatchObject({
      subject: `${prefix}.orders.k0`,
      msgId: log[0]!.id,
      namespace: 'orders',
      key: 'k0',
      op: 'upsert',
      traceparent,
      body: { n: 0 },
    });
    expect(first.xid).toMatch(/^\d+$/);
    expect(stored.find((m) => m.id === log[1]!.id)!.traceparent).toBeUndefined();
    expect(stored.find((m) => m.id === log[8]!.id)!.op).toBe('delete');
  });

  it('stores an entry applied twice once: the stream drops the second copy by its message id', async () => {
    const { name, prefix } = await admin.createStream();
    const s = sink({ subject: `${prefix}.{key}`, stream: name });
    const batch = Array.from({ length: 20 }, (_, i) => ({
      id: String(1000 + i),
      namespace: 'ns',
      key: `k${i % 3}`,
      op: 'upsert',
      payload: i,
    }));
    expect(await s.apply(batch)).toBeUndefined();
    expect(await s.apply(batch)).toBeUndefined(); // a redelivery: acked as duplicates, not stored again
    expect(await s.apply(batch.slice(5, 9))).toBeUndefined();
    expect((await admin.read(name)).map((m) => m.id)).toEqual(batch.map((e) => e.id));
  });

  it('fails an entry the stream refuses and every later entry of its key; other keys are published', async () => {
    const { name, prefix } = await admin.createStream({ max_msg_size: 200 });
    const s = sink({ subject: `${prefix}.{key}` });
    const batch = [
      { id: '1', namespace: 'ns', key: 'a', op: 'upsert', payload: 'small' },
      { id: '2', namespace: 'ns', key: 'b', op: 'upsert', payload: 'x'.repeat(500) },
      { id: '3', namespace: 'ns', key: 'a', op: 'upsert', payload: 'small' },
      { id: '4', namespace: 'ns', key: 'b', op: 'upsert', payload: 'small' },
      { id: '5', namespace: 'ns', key: 'c', op: 'upsert', payload: 'small' },
      { id: '6', namespace: 'ns', key: 'with space', op: 'upsert', payload: 'small' },
    ];
    const result = await s.apply(batch);
    expect(result?.failed?.map((f) => f.id)).toEqual(expect.arrayContaining(['2', '4', '6']));
    expect(result?.failed).toHaveLength(3);
    expect(String(result?.failed?.find((f) => f.id === '2')?.error)).toMatch(/size/i);
    expect(String(result?.failed?.find((f) => f.id === '4')?.error)).toMatch(/entry 2 of its key failed/);
    expect(String(result?.failed?.find((f) => f.id === '6')?.error)).toMatch(/not a valid NATS subject/);
    expect((await admin.read(name)).map((m) => m.id).sort()).toEqual(['1', '3', '5']);
  });

  it('a full stream (discard new) shows up as retries; once room is made everything arrives, in order', async () => {
    const { name, prefix } = await admin.createStream({ max_msgs: 10, discard: DiscardPolicy.New });
    await walbox.namespaces.upsert({ name: 'full', targets: ['bus'], partitions: 2, retry: RETRY_FAST });
    const d = walbox.dispatcher({ sinks: { bus: sink({ subject: `${prefix}.{key}` }) }, ...FAST });
    running.push(d);
    const retried: string[] = [];
    d.on('retried', ({ error }) => retried.push(error));
    d.on('dead-lettered', ({ entry }) => retried.push(`DEAD ${entry.id}`));
    await d.start();
    const log = await append('full', 60, 4);
    await until(() => retried.length >= 5, 30_000, 'retries while the stream is full');
    expect(await admin.count(name)).toBe(10);
    expect(retried[0]).toMatch(/maximum messages/i);
    await admin.jsm.streams.update(name, { max_msgs: -1 });
    await until(async () => (await admin.count(name)) >= log.length, 30_000, 'the rest once there is room');
    expect(retried.filter((r) => r.startsWith('DEAD'))).toEqual([]);
    expect(checkDeliveries(log, await admin.read(name))).toEqual({
      lost: [],
      unexpected: [],
      reorderedKeys: [],
      redelivered: 0,
    });
  });

  it('throws (the batch is retried) when no stream captures the subject, saying so', async () => {
    const s = sink({ subject: 'nobody.listens.{key}', ackTimeoutMs: 1000 });
    await expect(s.apply([{ id: '1', namespace: 'ns', key: 'a', op: 'upsert', payload: 1 }])).rejects.toThrow(
      /no JetStream stream answered for subject "nobody.listens.a"/,
    );
  });

  it('throws when the server cannot be reached, and validates its config', async () => {
    const s = createNatsSink({ servers: 'nats://127.0.0.1:1', connectTimeoutMs: 500 });
    await expect(
      s.apply([{ id: '1', namespace: 'ns', key: 'a', op: 'upsert', payload: 1 }]),
    ).rejects.toThrow();
    await s.close();
    expect(() => createNatsSink({ servers: url, concurrency: 0 })).toThrow(/concurrency/);
    expect(() => createNatsSink({} as never)).toThrow(/servers: give exactly one of servers and connection/);
  });

  it('closes what it opened, once', async () => {
    for (const s of sinks.splice(0)) {
      await s.close();
      await s.close();
    }
  });
});
