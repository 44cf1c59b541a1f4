// A nats-server of this file's own killed (SIGKILL) and restarted while producers append and a dispatcher
// publishes: the batches cut short are retried, the stream's duplicate window drops the copies of what had
// landed, and the stream ends up with every committed entry once, in order per key.
import { describe, expect, it } from 'vitest';
import { startNats } from '../../../test/support/brokers.js';
import { isolatedWalbox } from '../../../test/support/db.js';
import { checkDeliveries } from '../../../test/support/delivery-check.js';
import { FAST, stopAfterEach } from '../../../test/support/dispatchers.js';
import { Producers } from '../../../test/support/producers.js';
import { until } from '../../../test/support/recording-sink.js';
import { canStart } from '../../../test/support/required-servers.js';
import { createNatsSink } from '../src/index.js';
import { jetstreamAdmin } from './jetstream-streams.js';

const available = canStart('nats-server');
const KEYS = Array.from({ length: 40 }, (_, i) => `k${i}`);
// Started at the top level only when the tests run: a skipped file runs no hooks, so nothing would stop them.
const { pool, walbox } = available ? await isolatedWalbox('sink-nats-restart') : ({} as never);
const server = available ? await startNats() : undefined!;
const admin = available ? await jetstreamAdmin(server.url) : undefined!;

describe.runIf(available)('NATS sink across a broker restart', () => {
  const running = stopAfterEach();

  it('loses nothing and keeps each key in order when the server is killed and restarted mid-stream', async () => {
    const { name, prefix } = await admin.createStream();
    await walbox.namespaces.upsert({
      name: 'restart',
      targets: ['bus'],
      partitions: 4,
      retry: { limit: 1000, initialDelayMs: 50, maxDelayMs: 500 },
    });
    const sink = createNatsSink({ servers: server.url, subject: `${prefix}.{key}`, ackTimeoutMs: 1000 });
    const d = walbox.dispatcher({ sinks: { bus: sink }, ...FAST });
    running.push(d);
    let failedBatches = 0;
    d.on('batch-failed', () => failedBatches++);
    await d.start();
    const producers = new Producers(pool, walbox, { namespace: 'restart', keys: KEYS, pauseMs: 30 }).start();
    try {
      await producers.until(400);
      server.kill('SIGKILL');
      await server.stop(); // waits for the exit
      await until(() => failedBatches > 0, 20_000, 'batches failing while the server is down');
      await producers.until(producers.committed.size + 200); // appends go on meanwhile
      await server.start();
      await producers.until(producers.committed.size + 400);
    } finally {
      await producers.stop();
    }
    const log = [...producers.committed.values()];
    await until(
      async () => (await admin.count(name)) >= log.length,
      60_000,
      'every committed entry in the stream',
    );
    const stored = await admin.read(name);
    expect(checkDeliveries(log, stored)).toEqual({
      lost: [],
      unexpected: [],
      reorderedKeys: [],
      redelivered: 0,
    });
    expect(stored.some((m) => producers.rolledBack.has(m.id))).toBe(false);
    console.log(`nats restart: ${log.length} entries, ${failedBatches} failed batches, none lost or doubled`);
  }, 120_000);
});
