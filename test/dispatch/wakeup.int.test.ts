import { describe, expect, it } from 'vitest';
import { isolatedWalbox } from '../support/db.js';
import { stopAfterEach } from '../support/dispatchers.js';
import { keyInPartition } from '../support/entries.js';
import { RecordingSink, until } from '../support/recording-sink.js';

const { pool, walbox } = await isolatedWalbox('wakeup');
const running = stopAfterEach();

describe('wake-up modes', () => {
  it('listen mode: a new entry on a cold partition is picked up without polling for it', async () => {
    await walbox.namespaces.upsert({ name: 'listen', targets: ['l'] });
    const sink = new RecordingSink('l');
    // Supervisor polling is slowed to a crawl, so only NOTIFY can explain a prompt delivery.
    const d = walbox.dispatcher({
      sinks: { l: sink },
      superviseMs: 60_000,
      leaseMs: 120_000,
      idleReleaseMs: 0,
    });
    running.push(d);
    await d.start();
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setTimeout(r, 300)); // let the partition go cold between appends
      const e = await walbox.append(pool, { namespace: 'listen', key: 'k', op: 'upsert', payload: i });
      await until(() => sink.ids().includes(e.id), 10_000, `entry ${i} via NOTIFY`);
    }
    expect(sink.applied.map((e) => e.payload)).toEqual([0, 1, 2, 3, 4]);
  });

  it('listen mode: an entry for a cold partition is picked up while another partition of its namespace is busy', async () => {
    await walbox.namespaces.upsert({ name: 'two', targets: ['t2'], partitions: 2 });
    const inP0 = await keyInPartition(pool, walbox.schema, 2, 0);
    const inP1 = await keyInPartition(pool, walbox.schema, 2, 1);
    const sink = new RecordingSink('t2');
    // Drains stay on their partition for a minute and the supervisor hardly runs: only NOTIFY can help.
    const d = walbox.dispatcher({
      sinks: { t2: sink },
      superviseMs: 60_000,
      leaseMs: 120_000,
      idleReleaseMs: 60_000,
      maxDrainMs: 60_000,
    });
    running.push(d);
    await d.start();
    const first = await walbox.append(pool, { namespace: 'two', key: inP1, op: 'upsert', payload: 1 });
    await until(() => sink.ids().includes(first.id), 10_000, 'partition 1 entry');
    const second = await walbox.append(pool, { namespace: 'two', key: inP0, op: 'upsert', payload: 2 });
    await until(
      () => sink.ids().includes(second.id),
      5_000,
      'partition 0 entry while partition 1 is drained',
    );
  });

  it('listen mode: a NOTIFY that arrives while a drain is letting its partition go is not lost', async () => {
    await walbox.namespaces.upsert({ name: 'letgo', targets: ['g'] });
    const sink = new RecordingSink('g');
    // The supervisor hardly runs: a lost NOTIFY would leave the entry for a minute.
    const d = walbox.dispatcher({
      sinks: { g: sink },
      superviseMs: 60_000,
      leaseMs: 120_000,
      idleReleaseMs: 0,
      busyMs: 1000,
    });
    running.push(d);
    await d.start();
    const first = await walbox.append(pool, { namespace: 'letgo', key: 'k', op: 'upsert', payload: 1 });
    await until(
      async () =>
        (
          await pool.query<{ n: number }>(
            `select delivered::int as n from "${walbox.schema}".cursors where namespace = 'letgo'`,
          )
        ).rows[0]?.n === 1,
      10_000,
      'the first entry recorded',
    );
    // The drain stays busy for busyMs after recording it; then it lets the partition go. Hold its cursor row so
    // that the release waits, and append while it does: the NOTIFY reaches a drain that has read for the last time.
    const lock = await pool.connect();
    try {
      await lock.query('begin');
      await lock.query(
        `select 1 from "${walbox.schema}".cursors where namespace = 'letgo' and target = 'g' for update`,
      );
      await until(
        async () =>
          (
            await pool.query(
              `select 1 from pg_stat_activity where wait_event_type = 'Lock' and query like '%set lease_owner = null%'`,
            )
          ).rowCount === 1,
        10_000,
        'the drain releasing its partition',
      );
      const second = await walbox.append(pool, { namespace: 'letgo', key: 'k', op: 'upsert', payload: 2 });
      await new Promise((r) => setTimeout(r, 300)); // the NOTIFY reaches the dispatcher
      await lock.query('commit');
      await until(
        () => sink.ids().includes(second.id),
        5_000,
        'the entry whose NOTIFY came during the release',
      );
      expect(sink.ids()).toEqual([first.id, second.id]);
    } finally {
      lock.release();
    }
  });

  it('wakeupBatchMs: entries committed right after a wake-up share its batch', async () => {
    await walbox.namespaces.upsert({ name: 'linger', targets: ['w'] });
    const sink = new RecordingSink('w');
    // busyMs 0: appends notify a drain that has just delivered (else they skip NOTIFY for it, and it polls).
    const d = walbox.dispatcher({
      sinks: { w: sink },
      wakeupBatchMs: 1000,
      idleReleaseMs: 60_000,
      busyMs: 0,
    });
    running.push(d);
    await d.start();
    const warm = await walbox.append(pool, { namespace: 'linger', key: 'k', op: 'upsert', payload: 0 });
    await until(() => sink.ids().includes(warm.id), 10_000, 'warm-up entry');
    const before = sink.batches.length;
    const later: string[] = [];
    for (let i = 1; i <= 3; i++) {
      later.push(
        (await walbox.append(pool, { namespace: 'linger', key: `k${i}`, op: 'upsert', payload: i })).id,
      );
    }
    await until(() => later.every((id) => sink.ids().includes(id)), 10_000, 'entries after the wake-up');
    // Three autocommit appends take a few ms; the drain lingered 1 s after the first NOTIFY.
    expect(sink.batches.length - before).toBe(1);
  });

  it('poll mode delivers entries appended with walbox.notify off (PgBouncer transaction pooling)', async () => {
    await walbox.namespaces.upsert({ name: 'poll', targets: ['p'] });
    const sink = new RecordingSink('p');
    const d = walbox.dispatcher({
      sinks: { p: sink },
      wakeup: 'poll',
      pollIntervalMs: 100,
      superviseMs: 500,
    });
    running.push(d);
    await d.start();
    const client = await pool.connect();
    try {
      await client.query('begin');
      await client.query("set local walbox.notify = 'off'");
      const listener = await pool.connect();
      const heard: string[] = [];
      listener.on('notification', (m) => heard.push(m.payload ?? ''));
      await listener.query(`listen "${walbox.channel}"`);
      const stored = await walbox.appendMany(
        client,
        Array.from({ length: 50 }, (_, i) => ({
          namespace: 'poll',
          key: `k${i % 5}`,
          op: 'upsert',
          payload: i,
        })),
      );
      await client.query('commit');
      await until(() => sink.applied.length === 50, 15_000, 'polled delivery');
      expect(sink.ids()).toEqual(stored.map((s) => s.id));
      expect(heard).toEqual([]); // nothing was notified: polling found the work
      await listener.query(`unlisten "${walbox.channel}"`);
      listener.release();
    } finally {
      client.release();
    }
  });
});
