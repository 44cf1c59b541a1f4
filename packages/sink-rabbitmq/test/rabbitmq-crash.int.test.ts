// A dispatcher process SIGKILLed after RabbitMQ confirmed a batch and before the dispatcher committed its
// cursor: the survivor publishes the same entries again. RabbitMQ has no duplicate window, so the consumer
// gets those entries twice; each copy carries the entry's id as message_id, which is what a consumer-side
// dedupe (the walbox inbox) keys on. Nothing is lost, and each key's entries first arrive in order.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { Entry } from '../../../src/index.js';
import { rabbitmqUrl } from '../../../test/support/brokers.js';
import { databaseUrl, isolatedWalbox } from '../../../test/support/db.js';
import { checkDeliveries } from '../../../test/support/delivery-check.js';
import { FAST, stopAfterEach } from '../../../test/support/dispatchers.js';
import { until } from '../../../test/support/recording-sink.js';
import { serverAvailable } from '../../../test/support/required-servers.js';
import { createRabbitmqSink } from '../src/index.js';
import { type Received, rabbitAdmin } from './rabbit-queues.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const CHILD = 'packages/sink-rabbitmq/test/fixtures/rabbitmq-dispatcher-child.ts';
const LEASE = { leaseMs: 2000, superviseMs: 500, pollIntervalMs: 50, batchSize: 50 };

const available = serverAvailable('rabbitmq-server');
const url = available ? await rabbitmqUrl() : '';
const admin = available ? await rabbitAdmin(url) : undefined!;
const { pool, walbox, schema } = available ? await isolatedWalbox('sink-rabbitmq-crash') : ({} as never);
const running = stopAfterEach();
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

/** Starts the child dispatcher; resolves with it and the ids of the first batch RabbitMQ confirmed. */
function startChild(exchange: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, databaseUrl(), schema], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: {
      ...process.env,
      RABBITMQ_URL: url,
      RABBITMQ_EXCHANGE: exchange,
      CHILD_DISPATCHER: JSON.stringify(LEASE),
    },
  });
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const published = new Promise<string[]>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('P '));
      if (line) resolve(line.slice(2).split(',').filter(Boolean));
    });
    void exited.then(() => reject(new Error(`child exited before publishing: ${stderr}`)));
  });
  published.catch(() => {});
  return { child, published, exited };
}

describe.runIf(available)('RabbitMQ sink and a dispatcher killed between confirm and cursor commit', () => {
  it('the survivor publishes the entries again, each copy with the same message_id; nothing is lost', async () => {
    const { exchange, queue } = await admin.declare();
    await walbox.namespaces.upsert({ name: 'crash', targets: ['bus'], partitions: 2 });
    const log = (
      await walbox.appendMany(
        pool,
        Array.from({ length: 200 }, (_, i) => ({
          namespace: 'crash',
          key: `k${i % 10}`,
          op: 'upsert',
          payload: i,
        })),
      )
    ).map((e) => ({ id: e.id, key: e.key }));

    const { child, published, exited } = startChild(exchange);
    const killedBatch = await published; // confirmed by RabbitMQ; the child now holds it before returning
    child.kill('SIGKILL');
    await exited;
    expect(killedBatch.length).toBeGreaterThan(0);

    const reapplied: Entry[] = [];
    const rabbit = createRabbitmqSink({ url, exchange });
    const d = walbox.dispatcher({
      sinks: {
        bus: {
          name: 'bus',
          apply: (batch, ctx) => {
            reapplied.push(...batch);
            return rabbit.apply(batch, ctx);
          },
          close: () => rabbit.close(),
        },
      },
      ...FAST,
      ...LEASE,
    });
    running.push(d);
    await d.start();
    await until(
      () => killedBatch.every((id) => reapplied.some((e) => e.id === id)),
      30_000,
      'the re-delivery',
    );
    // The killed process may have had another partition's batch confirmed too: count copies, not messages.
    const received: Received[] = [];
    const copies = (id: string) => received.filter((m) => m.id === id).length;
    await until(
      async () => {
        received.push(...(await admin.drain(queue)));
        return (
          new Set(received.map((m) => m.id)).size >= log.length && killedBatch.every((id) => copies(id) === 2)
        );
      },
      30_000,
      'every entry, and the copies',
    );
    await d.stop();
    received.push(...(await admin.drain(queue)));

    const check = checkDeliveries(log, received);
    expect({ ...check, redelivered: undefined }).toEqual({ lost: [], unexpected: [], reorderedKeys: [] });
    expect(check.redelivered).toBeGreaterThanOrEqual(killedBatch.length);
    for (const id of killedBatch)
      expect(received.filter((m) => m.id === id).map((m) => m.messageId)).toEqual([id, id]);
    expect(received.every((m) => m.messageId === m.id)).toBe(true);
    expect(new Set(received.map((m) => m.messageId)).size).toBe(log.length); // deduped by message_id: exact
    console.log(`rabbitmq crash: ${check.redelivered} entries published twice, same message_id`);
  }, 90_000);
});
