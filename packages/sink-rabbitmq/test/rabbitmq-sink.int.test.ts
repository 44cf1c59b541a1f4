// The RabbitMQ sink against a real broker (RABBITMQ_URL, the machine's on 127.0.0.1:5672, or one this file
// starts) and a real walbox dispatcher: order per key, message id, persistence and headers, a returned
// (unroutable) message, a full queue that nacks (back-pressure), and a missing exchange.
import { describe, expect, it } from 'vitest';
import { rabbitmqUrl } from '../../../test/support/brokers.js';
import { isolatedWalbox } from '../../../test/support/db.js';
import { checkDeliveries } from '../../../test/support/delivery-check.js';
import { FAST, stopAfterEach } from '../../../test/support/dispatchers.js';
import { until } from '../../../test/support/recording-sink.js';
import { serverAvailable } from '../../../test/support/required-servers.js';
import { createRabbitmqSink, type RabbitmqSink, UnroutableError } from '../src/index.js';
import { rabbitAdmin } from './rabbit-queues.js';

const RETRY_FAST = { limit: 1000, initialDelayMs: 50, maxDelayMs: 300 };
const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

// Without RABBITMQ_URL or a rabbitmq-server binary every test here is skipped (global setup prints why), and
// nothing is started or connected at the top level.
const available = serverAvailable('rabbitmq-server');
const url = available ? await rabbitmqUrl() : '';
const admin = available ? await rabbitAdmin(url) : undefined!;
const { pool, walbox } = available ? await isolatedWalbox('sink-rabbitmq') : ({} as never);
const running = stopAfterEach();
const sinks: RabbitmqSink[] = [];
const sink = (config: Omit<Parameters<typeof createRabbitmqSink>[0], 'url'>) => {
  const s = createRabbitmqSink({ url, ...config });
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
          op: 'upsert',
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

describe.runIf(available)('RabbitMQ sink', () => {
  it('publishes every entry, in order per key, persistent, with the entry id as message_id and walbox headers', async () => {
    const { exchange, queue } = await admin.declare();
    await walbox.namespaces.upsert({ name: 'orders', targets: ['bus'], partitions: 4 });
    const d = walbox.dispatcher({ sinks: { bus: sink({ exchange }) }, ...FAST });
    running.push(d);
    await d.start();
    const log = await append('orders', 300, 12);
    await until(async () => (await admin.count(queue)) >= log.length, 30_000, 'all entries in the queue');
    const received = await admin.drain(queue);
    expect(checkDeliveries(log, received)).toEqual({
      lost: [],
      unexpected: [],
      reorderedKeys: [],
      redelivered: 0,
    });
    expect(received.every((m) => m.messageId === m.id && m.persistent)).toBe(true);
    expect(received.find((m) => m.id === log[0]!.id)).toMatchObject({
      routingKey: 'orders.k0',
      namespace: 'orders',
      key: 'k0',
      op: 'upsert',
      traceparent,
      body: { n: 0 },
    });
    expect(received.find((m) => m.id === log[1]!.id)!.traceparent).toBeUndefined();
  });

  it('fails a returned (unroutable) entry and the later entries of its key; other keys are published', async () => {
    const { exchange, queue } = await admin.declare({ pattern: 'ns.a' });
    const s = sink({ exchange });
    const batch = [
      { id: '1', namespace: 'ns', key: 'a', op: 'upsert', payload: 1 },
      { id: '2', namespace: 'ns', key: 'b', op: 'upsert', payload: 2 },
      { id: '3', namespace: 'ns', key: 'a', op: 'upsert', payload: 3 },
      { id: '4', namespace: 'ns', key: 'b', op: 'upsert', payload: 4 },
    ];
    const result = await s.apply(batch);
    expect(result?.failed?.map((f) => f.id)).toEqual(['2', '4']);
    const returned = result!.failed![0]!.error;
    expect(returned).toBeInstanceOf(UnroutableError);
    expect(String(returned)).toMatch(
      /no queue is bound to exchange .* for routing key "ns.b" \(312 NO_ROUTE\)/,
    );
    expect(String(result!.failed![1]!.error)).toMatch(/entry 2 of its key failed/);
    await until(async () => (await admin.count(queue)) >= 2, 5000, 'the routable ones');
    expect((await admin.drain(queue)).map((m) => m.id)).toEqual(['1', '3']);
  });

  it('a full queue (x-overflow reject-publish) nacks: retries, and once room is made everything arrives in order', async () => {
    const { exchange, queue } = await admin.declare({
      queue: { arguments: { 'x-max-length': 10, 'x-overflow': 'reject-publish' } },
    });
    await walbox.namespaces.upsert({ name: 'full', targets: ['bus'], partitions: 2, retry: RETRY_FAST });
    const d = walbox.dispatcher({ sinks: { bus: sink({ exchange }) }, ...FAST });
    running.push(d);
    const retried: string[] = [];
    d.on('retried', ({ error }) => retried.push(error));
    d.on('dead-lettered', ({ entry }) => retried.push(`DEAD ${entry.id}`));
    await d.start();
    const log = await append('full', 60, 4);
    await until(() => retried.length >= 5, 30_000, 'retries while the queue is full');
    expect(await admin.count(queue)).toBe(10);
    expect(retried[0]).toMatch(/nacked/);
    const received = await admin.drain(queue); // makes room, again and again
    await until(
      async () => {
        received.push(...(await admin.drain(queue)));
        return received.length >= log.length;
      },
      60_000,
      'the rest once there is room',
    );
    expect(retried.filter((r) => r.startsWith('DEAD'))).toEqual([]);
    expect(checkDeliveries(log, received)).toEqual({
      lost: [],
      unexpected: [],
      reorderedKeys: [],
      redelivered: 0,
    });
  });

  it('throws (the batch is retried) when the exchange does not exist, saying so; the next batch works', async () => {
    const s = sink({ exchange: 'walbox-test-no-such-exchange', confirmTimeoutMs: 2000 });
    const entry = { id: '1', namespace: 'ns', key: 'a', op: 'upsert', payload: 1 };
    await expect(s.apply([entry])).rejects.toThrow(/channel closed .*NOT_FOUND - no exchange/);
    await expect(s.apply([entry])).rejects.toThrow(/NOT_FOUND/); // a new channel, the same answer
  });

  it('throws when the broker cannot be reached, and validates its config', async () => {
    const s = createRabbitmqSink({ url: 'amqp://guest:guest@127.0.0.1:1', connectTimeoutMs: 500 });
    await expect(
      s.apply([{ id: '1', namespace: 'ns', key: 'a', op: 'upsert', payload: 1 }]),
    ).rejects.toThrow();
    await s.close();
    expect(() => createRabbitmqSink({ url: 'http://x' })).toThrow(/url: must start with amqp/);
    expect(() => createRabbitmqSink({ url, socketOptions: { recovery: true } } as never)).toThrow(
      /socketOptions: recovery is not supported/,
    );
    expect(() => createRabbitmqSink({} as never)).toThrow(/url: give exactly one of url and connection/);
  });

  it('closes what it opened, once', async () => {
    for (const s of sinks.splice(0)) {
      await s.close();
      await s.close();
    }
  });
});
