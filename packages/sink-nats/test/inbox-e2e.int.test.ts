// End to end, exactly once in effect: service A appends in its transactions, walbox publishes to JetStream, and
// service B consumes with a walbox inbox in its own transactions. The publisher is SIGKILLed between a
// publish and its cursor commit (JetStream's duplicate window drops the copies), and the consumer is
// SIGKILLed after a commit and before its ack (JetStream redelivers; the inbox refuses the copy). B's table
// ends with every event exactly once.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { natsUrl } from '../../../test/support/brokers.js';
import { databaseUrl, isolatedWalbox } from '../../../test/support/db.js';
import { FAST, stopAfterEach } from '../../../test/support/dispatchers.js';
import { until } from '../../../test/support/recording-sink.js';
import { serverAvailable } from '../../../test/support/required-servers.js';
import { createNatsSink } from '../src/index.js';
import { jetstreamAdmin } from './jetstream-streams.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const LEASE = { leaseMs: 2000, superviseMs: 500, pollIntervalMs: 50, batchSize: 20 };
const EVENTS = 300;

const available = serverAvailable('nats-server');
const url = available ? await natsUrl() : '';
const admin = available ? await jetstreamAdmin(url) : undefined!;
const { pool, walbox, schema } = available ? await isolatedWalbox('sink-nats-inbox-e2e') : ({} as never);
const running = stopAfterEach();
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

/** A child process; resolves `line` with the first stdout line starting with `prefix`. */
function child(script: string, args: string[], env: Record<string, string>) {
  const proc = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, NATS_URL: url, ...env },
  });
  children.push(proc);
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  proc.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const line = (prefix: string) =>
    until(
      () => out.split('\n').some((l) => l.startsWith(prefix)),
      60_000,
      `${prefix} from ${script}: ${err}`,
    );
  return { proc, exited, line, lines: () => out.split('\n') };
}

describe.runIf(available)('JetStream and the inbox, end to end', () => {
  it("B applies each of A's events exactly once through crashes on both sides", async () => {
    const { name, prefix } = await admin.createStream();
    const subject = `${prefix}.{namespace}.{key}`;
    await pool.query(`create table "${schema}".b_events (entry_id text not null, key text not null)`);
    await walbox.namespaces.upsert({ name: 'orders', targets: ['bus'], partitions: 2 });

    // Service A: events in transactions of 3, with its business rows.
    const appended: string[] = [];
    for (let i = 0; i < EVENTS; i += 3) {
      const entries = await walbox.appendMany(
        pool,
        [0, 1, 2].map((j) => ({
          namespace: 'orders',
          key: `o${(i + j) % 25}`,
          op: 'upsert',
          payload: { n: i + j },
        })),
      );
      appended.push(...entries.map((e) => e.id));
    }

    // The publisher dies holding an acknowledged batch whose cursor it never commits.
    const publisher = child(
      'packages/sink-nats/test/fixtures/nats-dispatcher-child.ts',
      [databaseUrl(), schema],
      {
        NATS_SUBJECT: subject,
        CHILD_DISPATCHER: JSON.stringify(LEASE),
      },
    );
    await publisher.line('P ');
    publisher.proc.kill('SIGKILL');
    await publisher.exited;

    // Service B starts consuming, and dies after its 40th commit, before acking it.
    const consumerScript = 'packages/sink-nats/test/fixtures/inbox-consumer-child.ts';
    const first = child(consumerScript, [databaseUrl(), schema, name], { CRASH_AFTER: '40' });
    expect(await first.exited).toBe(null); // killed by its signal
    // A's dispatcher takes over the publishing; B comes back.
    const nats = createNatsSink({ servers: url, subject });
    const d = walbox.dispatcher({ sinks: { bus: nats }, ...FAST, ...LEASE });
    running.push(d);
    await d.start();
    const second = child(consumerScript, [databaseUrl(), schema, name], {});
    await until(
      async () =>
        (await pool.query(`select count(*)::int as n from "${schema}".b_events`)).rows[0].n >= EVENTS,
      90_000,
      'B to apply every event',
    );
    await until(() => second.lines().some((l) => l.startsWith('DUP ')), 30_000, 'the redelivered message');

    const { rows } = await pool.query<{ n: number; distinct_ids: number }>(
      `select count(*)::int as n, count(distinct entry_id)::int as distinct_ids from "${schema}".b_events`,
    );
    expect(rows[0]).toEqual({ n: EVENTS, distinct_ids: EVENTS });
    const { rows: ids } = await pool.query<{ entry_id: string }>(`select entry_id from "${schema}".b_events`);
    expect(new Set(ids.map((r) => r.entry_id))).toEqual(new Set(appended));
    // The copy JetStream redelivered after B's crash reached B and was refused by the inbox, not applied.
    const dups = second.lines().filter((l) => l.startsWith('DUP '));
    expect(dups.length).toBeGreaterThan(0);
    console.log(
      `inbox e2e: ${EVENTS} events, ${await admin.count(name)} in the stream, ${dups.length} redelivered to B and refused by the inbox`,
    );
  }, 240_000);
});
