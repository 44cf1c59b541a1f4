// A RabbitMQ node of this file's own killed (SIGKILL to the Erlang VM) and restarted while producers append
// and a dispatcher publishes to a durable classic queue: every committed entry is in the queue afterwards,
// and each key's entries first arrive in order. Copies of entries whose confirm was lost with the broker may
// follow (at least once): they carry the same message_id, for the consumer to drop.
import { readFile } from 'node:fs/promises';
import type { BatchResult, Sink, SinkContext, SinkEntry } from '@walbox/sink-kit';
import { describe, expect, it } from 'vitest';
import { startRabbitmq } from '../../../test/support/brokers.js';
import { isolatedWalbox } from '../../../test/support/db.js';
import { checkDeliveries } from '../../../test/support/delivery-check.js';
import { FAST, stopAfterEach } from '../../../test/support/dispatchers.js';
import { Producers } from '../../../test/support/producers.js';
import { until } from '../../../test/support/recording-sink.js';
import { canStart } from '../../../test/support/required-servers.js';
import { createRabbitmqSink } from '../src/index.js';
import { rabbitAdmin } from './rabbit-queues.js';

const available = canStart('rabbitmq-server');
const KEYS = Array.from({ length: 40 }, (_, i) => `k${i}`);
// Started at the top level only when the tests run: a skipped file runs no hooks, so nothing would stop them.
const { pool, walbox } = available ? await isolatedWalbox('sink-rabbitmq-restart') : ({} as never);
const started = Date.now();
const server = available ? await startRabbitmq() : undefined!;
const startMs = Date.now() - started;
const admin = available ? await rabbitAdmin(server.url) : undefined!;

// History: until 2026-11-30 this ran only with WALBOX_RABBITMQ_RESTART=1, after about one run in ten had
// ended with an entry missing from the queue while walbox had nothing pending (entry 5379 in CI). Not
// reproduced since: 30/30 runs in one session, then 15/15 on 2 cores at load average 6-19, alongside a raw
// amqplib probe (16 SIGKILLs, 970 to 4,070 confirmed persistent messages each on a durable classic queue:
// none missing after the restart). The sink fails every publish whose confirm did not arrive (amqplib fails the
// callbacks of a closed channel; a reconnect opens a new connection and channels, never reusing a delivery
// tag), and RabbitMQ confirms a persistent message on a durable queue only once it is on disk. Should a
// run fail again, it prints what the sink said about each lost entry (never offered, threw, or confirmed,
// before or after the kill) and the node's recovery log: confirmed-then-missing points at the broker,
// never confirmed at walbox.
describe.runIf(available)('RabbitMQ sink across a broker restart', () => {
  const running = stopAfterEach();

  it('loses nothing and keeps each key in order when the broker is killed and restarted mid-stream', async () => {
    const { exchange, queue } = await admin.declare();
    await walbox.namespaces.upsert({
      name: 'restart',
      targets: ['bus'],
      partitions: 4,
      retry: { limit: 1000, initialDelayMs: 50, maxDelayMs: 500 },
    });
    const sink = createRabbitmqSink({
      url: server.url,
      exchange,
      confirmTimeoutMs: 2000,
      connectTimeoutMs: 1000,
    });
    const said = new SinkLedger(sink);
    const d = walbox.dispatcher({ sinks: { bus: said }, ...FAST });
    running.push(d);
    let failedBatches = 0;
    d.on('batch-failed', () => failedBatches++);
    await d.start();
    const producers = new Producers(pool, walbox, { namespace: 'restart', keys: KEYS, pauseMs: 30 }).start();
    let restartMs = 0;
    try {
      await producers.until(400);
      await server.crash();
      said.mark('killed');
      await until(() => failedBatches > 0, 60_000, 'batches failing while the broker is down');
      const restarted = Date.now();
      await server.start();
      said.mark('restarted');
      restartMs = Date.now() - restarted;
      await producers.until(producers.committed.size + 400);
    } finally {
      await producers.stop();
    }
    const log = [...producers.committed.values()];
    // The test's own connection died with the broker: read through a new one.
    const reader = await rabbitAdmin(server.url);
    // Every committed entry confirmed by the broker: nothing pending or parked at the target. (The queue's
    // length alone can reach the log's while one entry is still in flight, since it counts duplicates.)
    await until(
      async () => {
        const [t] = await walbox.status({ namespace: 'restart' });
        return (
          t !== undefined && t.pending === 0 && t.parked === 0 && (await reader.count(queue)) >= log.length
        );
      },
      120_000,
      'every committed entry confirmed and in the queue',
    ).catch(async (err) => {
      const [t] = await walbox.status({ namespace: 'restart' });
      console.log(
        'DEBUG status',
        JSON.stringify(t),
        'queue',
        await reader.count(queue),
        'log',
        log.length,
        'failed batches',
        failedBatches,
      );
      throw err;
    });
    await d.stop();
    const received = await reader.drain(queue);
    const check = checkDeliveries(log, received);
    if (check.lost.length > 0) {
      // Who dropped it: never confirmed by the sink (walbox did not wait for it), or confirmed by the sink
      // (so by RabbitMQ, per publish callback) and then missing: what the node logged on recovery.
      for (const id of check.lost) console.log(`DEBUG lost ${id}: sink said ${said.history(id)}`);
      const recovery = await readFile(server.logFile, 'utf8').catch((err: Error) => err.message);
      console.log(
        'DEBUG broker log',
        recovery
          .split('\n')
          .filter((l) => /unclean|recover|crash|error|dropp|rebuild/i.test(l))
          .join('\n'),
      );
    }
    expect({ ...check, redelivered: 0 }).toEqual({
      lost: [],
      unexpected: [],
      reorderedKeys: [],
      redelivered: 0,
    });
    expect(received.every((m) => m.messageId === m.id && m.persistent)).toBe(true);
    console.log(
      `rabbitmq restart: ${log.length} entries, ${failedBatches} failed batches, ${check.redelivered} copies ` +
        `(same message_id); broker start ${startMs} ms, restart after SIGKILL ${restartMs} ms`,
    );
  }, 180_000);
});

/**
 * The sink as the dispatcher sees it, remembering what each apply said about each entry: `confirmed`
 * (apply returned without naming it: RabbitMQ confirmed its publish), `failed`, or `threw` (the batch's
 * outcome unknown), with the broker's kill and restart marked in between.
 */
class SinkLedger implements Sink<SinkEntry> {
  readonly name: string;
  readonly #said = new Map<string, string[]>();
  #phase = 'before the kill';

  constructor(private readonly sink: Sink<SinkEntry>) {
    this.name = sink.name;
  }

  mark(event: 'killed' | 'restarted'): void {
    this.#phase = event === 'killed' ? 'broker down' : 'after the restart';
  }

  history(id: string): string {
    return (this.#said.get(id) ?? ['never offered']).join(', ');
  }

  async apply(batch: readonly SinkEntry[], ctx?: SinkContext): Promise<void | BatchResult> {
    const phase = this.#phase;
    const note = (id: string, what: string) =>
      this.#said.set(id, [...(this.#said.get(id) ?? []), `${what} (apply begun ${phase})`]);
    try {
      const result = await this.sink.apply(batch, ctx);
      const failed = new Set((result?.failed ?? []).map((f) => f.id));
      for (const e of batch) note(e.id, failed.has(e.id) ? 'failed' : 'confirmed');
      return result;
    } catch (err) {
      for (const e of batch) note(e.id, `threw ${(err as Error).name}`);
      throw err;
    }
  }

  close(): Promise<void> {
    return this.sink.close?.() ?? Promise.resolve();
  }
}
