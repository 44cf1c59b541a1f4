import { describe, expect, it } from 'vitest';
import { isolatedWalbox } from '../support/db.js';
import { stopAfterEach } from '../support/dispatchers.js';
import { RecordingSink, until } from '../support/recording-sink.js';

const { pool, walbox } = await isolatedWalbox('notify-spoofing');
const running = stopAfterEach();

/** Junk any login can send on the channel: unknown namespaces, partitions out of range, NaN, floods. */
function junkPayloads(): string[] {
  const huge = Array.from({ length: 1300 }, (_, i) => `real:${1000 + i}`).join(',');
  return [
    'nope:0,nope:1,ghost,ghost:7',
    'real:2,real:3,real:99,real:2147483647,real:99999999999999999999',
    'real:NaN,real:-1,real:1.5,real:1e3,real: 0,real:0x1,real:,:0,REAL:0,real:0:0',
    '\u0001,\u001b[31m,🙂:0,real;drop table x:0',
    huge.slice(0, 7990),
    Array.from({ length: 1400 }, (_, i) => `n${i}`).join(','),
    '',
    ',,,,',
  ];
}

describe('NOTIFY spoofing', () => {
  it('junk notifications create no cursor rows and no error events, and real appends still arrive', async () => {
    await walbox.namespaces.upsert({ name: 'real', targets: ['t'], partitions: 2 });
    const sink = new RecordingSink('t');
    // The supervisor hardly runs: the only cursor rows it makes are the declared ones, at start.
    const d = walbox.dispatcher({
      sinks: { t: sink },
      superviseMs: 60_000,
      leaseMs: 120_000,
      idleReleaseMs: 0,
    });
    const errors: Error[] = [];
    d.on('error', (err) => errors.push(err));
    running.push(d);
    await d.start();
    const cursors = async () =>
      (
        await pool.query<{ c: string }>(
          `select namespace || '/' || target || '/' || partition as c from "${walbox.schema}".cursors order by 1`,
        )
      ).rows.map((r) => r.c);
    const declared = await cursors();
    expect(declared).toEqual(['real/t/0', 'real/t/1']);

    for (let round = 0; round < 3; round++) {
      // Past the dispatcher's 100 ms per-partition NOTIFY throttle, as wakeup.int.test.ts does.
      await new Promise((r) => setTimeout(r, 300));
      for (const payload of junkPayloads()) {
        await pool.query('select pg_notify($1, $2)', [walbox.channel, payload]);
      }
      const e = await walbox.append(pool, {
        namespace: 'real',
        key: `k${round}`,
        op: 'upsert',
        payload: round,
      });
      await until(() => sink.ids().includes(e.id), 15_000, `real entry ${round} among the junk`);
    }
    // Leave time for any drain job a junk item could have asked for to run and take a lease.
    await new Promise((r) => setTimeout(r, 1500));
    expect(await cursors()).toEqual(declared);
    const { rows } = await pool.query<{ n: number }>(
      `select count(*)::int as n from "${walbox.schema}_boss".job where data->>'namespace' is distinct from 'real'
          or (data->>'partition')::text not in ('0', '1')`,
    );
    expect(rows[0]!.n).toBe(0);
    expect(errors).toEqual([]);
    expect(sink.applied.map((e) => e.payload)).toEqual([0, 1, 2]);

    // A namespace created right after junk made the dispatcher re-read the list: its first NOTIFY still
    // wakes it (the item waits for the next read), with the supervisor far away.
    await pool.query('select pg_notify($1, $2)', [walbox.channel, 'junk:0']);
    await walbox.namespaces.upsert({ name: 'fresh', targets: ['t'] });
    const fresh = await walbox.append(pool, { namespace: 'fresh', key: 'k', op: 'upsert', payload: 'new' });
    await until(() => sink.ids().includes(fresh.id), 15_000, 'the entry of a namespace created just now');
    expect(errors).toEqual([]);
  });
});
