// Appends skip NOTIFY for a partition whose every target's drain is busy (cursors.busy_until, written by
// record_step): NOTIFY's commit-time lock serializes committing producers, and a busy drain polls anyway.
// What a LISTEN client receives is compared with what was appended; a sentinel NOTIFY sent after each
// append's commit arrives after anything that commit sent, so "nothing arrived" is read without a timeout.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseUrl, isolatedWalbox } from '../support/db.js';
import { stopAfterEach } from '../support/dispatchers.js';
import { keyInPartition } from '../support/entries.js';
import { RecordingSink, until } from '../support/recording-sink.js';

const { pool, walbox, schema } = await isolatedWalbox('notify-gate');
const running = stopAfterEach();
const channel = `walbox_${schema}`;
const received: string[] = [];
const listener = new pg.Client({ connectionString: databaseUrl() });
listener.on('error', () => {});

beforeAll(async () => {
  await listener.connect();
  listener.on('notification', (n) => received.push(n.payload ?? ''));
  await listener.query(`listen "${channel}"`);
});
afterAll(() => listener.end());

let sentinels = 0;
/** Every notification sent by a commit before this call, in commit order (the sentinel left out). */
async function notificationsSoFar(): Promise<string[]> {
  const sentinel = `sentinel-${++sentinels}`;
  await pool.query('select pg_notify($1, $2)', [channel, sentinel]);
  await until(() => received.includes(sentinel), 10_000, sentinel);
  const upTo = received.splice(0, received.indexOf(sentinel) + 1);
  return upTo.slice(0, -1).filter((p) => !p.startsWith('sentinel-'));
}

async function setBusy(namespace: string, target: string, partition: number, interval: string | null) {
  await pool.query(
    `insert into "${schema}".cursors (namespace, target, partition, busy_until)
     values ($1, $2, $3, clock_timestamp() + $4::interval)
     on conflict (namespace, target, partition) do update set busy_until = excluded.busy_until`,
    [namespace, target, partition, interval],
  );
}

describe('NOTIFY gate: appends skip NOTIFY for busy drains', () => {
  it('notifies a partition unless every target of its namespace has a busy drain there', async () => {
    await walbox.namespaces.upsert({ name: 'gate', targets: ['a', 'b'], partitions: 2 });
    const k0 = await keyInPartition(pool, schema, 2, 0);
    const k1 = await keyInPartition(pool, schema, 2, 1);
    const append = (key: string) => walbox.append(pool, { namespace: 'gate', key, op: 'upsert', payload: 1 });
    await notificationsSoFar();

    await append(k0);
    expect(await notificationsSoFar()).toEqual(['gate:0']); // no drain at all

    await setBusy('gate', 'a', 0, '1 hour');
    await append(k0);
    expect(await notificationsSoFar()).toEqual(['gate:0']); // target b's drain is not busy

    await setBusy('gate', 'b', 0, '1 hour');
    await append(k0);
    expect(await notificationsSoFar()).toEqual([]); // both busy: no NOTIFY

    // A batch over both partitions names only the one that is not busy.
    await walbox.appendMany(pool, [
      { namespace: 'gate', key: k0, op: 'upsert', payload: 2 },
      { namespace: 'gate', key: k1, op: 'upsert', payload: 2 },
    ]);
    expect(await notificationsSoFar()).toEqual(['gate:1']);

    // walbox.notify = 'on' notifies anyway; 'off' never.
    const client = await pool.connect();
    try {
      for (const [mode, expected] of [
        ['on', ['gate:0']],
        ['off', []],
      ] as const) {
        await client.query('begin');
        await client.query(`select set_config('walbox.notify', $1, true)`, [mode]);
        await walbox.append(client, { namespace: 'gate', key: k0, op: 'upsert', payload: mode });
        await client.query('commit');
        expect(await notificationsSoFar()).toEqual(expected);
      }
    } finally {
      client.release();
    }

    // A busy_until that lapsed counts for nothing.
    await setBusy('gate', 'b', 0, '-1 second');
    await append(k0);
    expect(await notificationsSoFar()).toEqual(['gate:0']);
  });

  it('a steady stream to a busy drain sends few NOTIFYs, and every entry arrives in order', async () => {
    const run = async (name: string, busyMs: number) => {
      await walbox.namespaces.upsert({ name, targets: [name] });
      const sink = new RecordingSink(name);
      const d = walbox.dispatcher({ sinks: { [name]: sink }, busyMs, idleReleaseMs: 60_000 });
      running.push(d);
      await d.start();
      const warm = await walbox.append(pool, { namespace: name, key: 'warm', op: 'upsert', payload: -1 });
      await until(() => sink.ids().includes(warm.id), 10_000, 'warm-up entry');
      await notificationsSoFar();
      const ids: string[] = [];
      for (let i = 0; i < 100; i++) {
        ids.push(
          (await walbox.append(pool, { namespace: name, key: `k${i % 7}`, op: 'upsert', payload: i })).id,
        );
        await new Promise((r) => setTimeout(r, 5));
      }
      const notified = (await notificationsSoFar()).length;
      await until(() => ids.every((id) => sink.ids().includes(id)), 20_000, `${name}: every entry`);
      const payloads = sink.applied.filter((e) => e.key !== 'warm').map((e) => e.payload as number);
      expect(payloads).toEqual(Array.from({ length: 100 }, (_, i) => i));
      await d.stop();
      return notified;
    };
    // The control: with busyMs 0 every append notifies, so the count below is the mechanism's doing.
    expect(await run('always', 0)).toBe(100);
    // The drain records a step within busyMs (200) of almost every append; a stall of the machine over
    // 200 ms reopens the gate for one NOTIFY.
    expect(await run('gated', 200)).toBeLessThan(50);
  });

  it('a drain keeps its partition while an append that skipped NOTIFY is still open, and reads it', async () => {
    await walbox.namespaces.upsert({ name: 'held', targets: ['h'] });
    const sink = new RecordingSink('h');
    // The supervisor hardly runs: without the in-flight check, the drain would give the partition up and
    // the late commit would wait for it (60 s).
    const d = walbox.dispatcher({
      sinks: { h: sink },
      superviseMs: 60_000,
      leaseMs: 120_000,
      busyMs: 2000,
      idleReleaseMs: 200,
      pollIntervalMs: 50,
    });
    running.push(d);
    await d.start();
    const warm = await walbox.append(pool, { namespace: 'held', key: 'warm', op: 'upsert', payload: 0 });
    await until(() => sink.ids().includes(warm.id), 10_000, 'warm-up entry');
    await until(
      async () =>
        (
          await pool.query(
            `select 1 from "${schema}".cursors where namespace = 'held' and busy_until > clock_timestamp()`,
          )
        ).rowCount === 1,
      10_000,
      'the drain busy',
    );
    await notificationsSoFar();
    const client = await pool.connect();
    let late: string;
    try {
      await client.query('begin');
      // Appended while the drain is busy (it delivered the warm-up entry a moment ago): no NOTIFY.
      late = (await walbox.append(client, { namespace: 'held', key: 'late', op: 'upsert', payload: 1 })).id;
      await new Promise((r) => setTimeout(r, 3000)); // well past busyMs + idleReleaseMs
      await client.query('commit');
    } finally {
      client.release();
    }
    expect(await notificationsSoFar()).toEqual([]);
    await until(() => sink.ids().includes(late), 5_000, 'the entry committed after the drain went quiet');
  });
});
