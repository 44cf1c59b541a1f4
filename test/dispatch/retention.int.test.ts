import { describe, expect, it } from 'vitest';
import { isolatedWalbox } from '../support/db.js';
import { stopAfterEach } from '../support/dispatchers.js';
import { RecordingSink, until } from '../support/recording-sink.js';

const { pool, walbox, schema } = await isolatedWalbox('retention');
const running = stopAfterEach();

async function partitions(): Promise<string[]> {
  const { rows } = await pool.query<{ name: string }>(
    `select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
      where i.inhparent = '"${schema}".entries'::regclass order by 1`,
  );
  return rows.map((r) => r.name);
}

/**
 * A day partition in the past with entries in it, as if they had been appended that day (to `target`, and
 * delayed until `deliverAt` if given).
 */
async function oldDay(
  day: string,
  namespace: string,
  n: number,
  { target = 'r', deliverAt = null }: { target?: string; deliverAt?: string | null } = {},
): Promise<void> {
  const name = `entries_p${day.replaceAll('-', '')}`;
  await pool.query(
    `create table "${schema}".${name} partition of "${schema}".entries
       for values from ('${day}') to ('${day}'::date + 1)`,
  );
  await pool.query(
    `insert into "${schema}".entries (namespace, key, partition, op, payload, targets, deliver_at, created_at)
     select $1, $2 || ':' || g, 0, 'upsert', to_jsonb(g), array[$4], $5, $2::date + interval '1 hour'
       from generate_series(1, $3) g`,
    [namespace, day, n, target, deliverAt],
  );
}

describe('retention', () => {
  it('creates day partitions ahead and drops expired ones only after every target applied them', async () => {
    expect((await partitions()).filter((p) => p.startsWith('entries_p')).length).toBeGreaterThanOrEqual(8);
    await walbox.namespaces.upsert({ name: 'old', targets: ['r'], retentionHours: 24 });
    await oldDay('2020-01-01', 'old', 100);

    // Nothing has been delivered yet: the partition stays.
    expect((await walbox.maintain()).dropped).toEqual([]);
    expect(await partitions()).toContain('entries_p20200101');

    const sink = new RecordingSink('r');
    const d = walbox.dispatcher({ sinks: { r: sink }, pollIntervalMs: 50, superviseMs: 300 });
    running.push(d);
    await d.start();
    await until(() => sink.applied.length === 100, 15_000, 'old entries delivered');
    await until(
      async () => {
        const { rows } = await pool.query(
          `select 1 from "${schema}".audit where namespace = 'old' and delivery->>'r' <> 'applied'`,
        );
        return rows.length === 0;
      },
      10_000,
      'cursor committed',
    );

    expect((await walbox.maintain()).dropped).toEqual(['entries_p20200101']);
    expect(await partitions()).not.toContain('entries_p20200101');
    const { rows } = await pool.query(
      `select count(*)::int as n from "${schema}".entries where namespace = 'old'`,
    );
    expect(rows[0].n).toBe(0);
  });

  it('keeps a partition while the retention of a namespace in it has not elapsed', async () => {
    await walbox.namespaces.upsert({ name: 'keep', targets: [], retentionHours: 24 * 3650 });
    await oldDay('2021-06-01', 'keep', 10);
    expect((await walbox.maintain()).dropped).not.toContain('entries_p20210601');
  });

  it('keeps a partition with a parked (delayed or failing) entry', async () => {
    await walbox.namespaces.upsert({ name: 'parked', targets: ['z'], retentionHours: 1 });
    // Delayed far ahead: the dispatcher reads it from the log and parks it.
    await oldDay('2022-03-03', 'parked', 1, { target: 'z', deliverAt: '2999-01-01' });
    // Its twin without the delay shows that only the parked entry keeps a partition the cursor has passed.
    await oldDay('2022-03-04', 'parked', 1, { target: 'z' });
    const sink = new RecordingSink('z');
    const d = walbox.dispatcher({ sinks: { z: sink }, pollIntervalMs: 50, superviseMs: 300 });
    running.push(d);
    await d.start();
    // Every cursor has passed both days: its snapshot sees their writers, as drop_expired_partitions asks.
    await until(
      async () => {
        const { rows } = await pool.query(
          `select 1 from "${schema}".entries e
            where e.namespace = 'parked'
              and not exists (select 1 from "${schema}".cursors c
                               where c.namespace = e.namespace and c.target = 'z' and c.partition = e.partition
                                 and pg_visible_in_snapshot(e.xid, c.prev_snapshot))`,
        );
        return rows.length === 0;
      },
      15_000,
      'the cursor past both days',
    );
    await d.stop();
    expect(sink.ids()).toHaveLength(1);
    const { rows } = await pool.query(
      `select count(*)::int as n from "${schema}".parked where namespace = 'parked'`,
    );
    expect(rows[0].n).toBe(1);

    expect((await walbox.maintain()).dropped).not.toContain('entries_p20220303');
    // The dispatcher's own maintenance may have dropped the twin already; either way it is gone.
    expect(await partitions()).toContain('entries_p20220303');
    expect(await partitions()).not.toContain('entries_p20220304');
  });
});
