// A dispatcher process SIGKILLed after JetStream acknowledged a batch and before the dispatcher committed its
// cursor: the survivor publishes the same entries again, and the stream's duplicate window drops them, so a
// consumer of the stream sees every entry once.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { Entry } from '../../../src/index.js';
import { natsUrl } from '../../../test/support/brokers.js';
import { databaseUrl, isolatedWalbox } from '../../../test/support/db.js';
import { checkDeliveries } from '../../../test/support/delivery-check.js';
import { FAST, stopAfterEach } from '../../../test/support/dispatchers.js';
import { until } from '../../../test/support/recording-sink.js';
import { serverAvailable } from '../../../test/support/required-servers.js';
import { createNatsSink } from '../src/index.js';
import { jetstreamAdmin } from './jetstream-streams.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const CHILD = 'packages/sink-nats/test/fixtures/nats-dispatcher-child.ts';
const LEASE = { leaseMs: 2000, superviseMs: 500, pollIntervalMs: 50, batchSize: 50 };

const available = serverAvailable('nats-server');
const url = available ? await natsUrl() : '';
const admin = available ? await jetstreamAdmin(url) : undefined!;
const { pool, walbox, schema } = available ? await isolatedWalbox('sink-nats-crash') : ({} as never);
const running = stopAfterEach();
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

/** Starts the child dispatcher; resolves with it and the ids of the first batch JetStream acknowledged. */
function startChild(subject: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, databaseUrl(), schema], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, NATS_URL: url, NATS_SUBJECT: subject, CHILD_DISPATCHER: JSON.stringify(LEASE) },
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

describe.runIf(available)('NATS sink and a dispatcher killed between publish and cursor commit', () => {
  it('the consumer sees no duplicate: the survivor re-publishes, JetStream drops the copies', async () => {
    const { name, prefix } = await admin.createStream();
    const subject = `${prefix}.{namespace}.{key}`;
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

    const { child, published, exited } = startChild(subject);
    const killedBatch = await published; // acked by JetStream; the child now holds it before returning
    child.kill('SIGKILL');
    await exited;
    expect(killedBatch.length).toBeGreaterThan(0);
    const before = await admin.read(name);
    expect(killedBatch.filter((id) => !before.some((m) => m.id === id))).toEqual([]);

    // The survivor takes the partitions over once the dead process's lease lapses, and starts from its cursor.
    const reapplied: Entry[] = [];
    const nats = createNatsSink({ servers: url, subject });
    const d = walbox.dispatcher({
      sinks: {
        bus: {
          name: 'bus',
          apply: (batch, ctx) => {
            reapplied.push(...batch);
            return nats.apply(batch, ctx);
          },
          close: () => nats.close(),
        },
      },
      ...FAST,
      ...LEASE,
    });
    running.push(d);
    await d.start();
    await until(async () => (await admin.count(name)) >= log.length, 30_000, 'every entry in the stream');
    await until(
      () => killedBatch.every((id) => reapplied.some((e) => e.id === id)),
      30_000,
      'the re-delivery',
    );

    const stored = await admin.read(name);
    expect(checkDeliveries(log, stored)).toEqual({
      lost: [],
      unexpected: [],
      reorderedKeys: [],
      redelivered: 0,
    });
    expect(stored).toHaveLength(log.length);
    console.log(`nats crash: ${killedBatch.length} entries published twice, stored once`);
  }, 90_000);
});
