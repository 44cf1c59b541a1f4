import { describe, expect, it } from 'vitest';
import type { Entry } from '../../src/index.js';
import { InvalidConfigError, InvalidNameError } from '../../src/index.js';
import { isolatedWalbox } from '../support/db.js';
import { FAST, stopAfterEach } from '../support/dispatchers.js';
import { RecordingSink, until } from '../support/recording-sink.js';

const { pool, walbox, schema } = await isolatedWalbox('replay');
const running = stopAfterEach();

async function started(sinks: Record<string, RecordingSink>) {
  const d = walbox.dispatcher({ sinks, ...FAST });
  running.push(d);
  await d.start();
  return d;
}

const byId = (x: string, y: string) => (BigInt(x) < BigInt(y) ? -1 : BigInt(x) > BigInt(y) ? 1 : 0);
const ids = (entries: readonly Entry[]) => entries.map((e) => e.id);
const has = (sink: RecordingSink, entries: readonly Entry[]) =>
  entries.every((e) => sink.ids().includes(e.id));
const inRange = (e: Entry, from: string, to: string) =>
  BigInt(e.id) >= BigInt(from) && BigInt(e.id) <= BigInt(to);

async function delivery(id: string): Promise<Record<string, string>> {
  const { rows } = await pool.query<{ delivery: Record<string, string> }>(
    `select delivery from "${schema}".audit where id = $1`,
    [id],
  );
  return rows[0]!.delivery;
}

describe('replay', () => {
  it('re-delivers exactly the range minus the excluded ids, per key in order and ahead of newer entries, to the named target only', async () => {
    await walbox.namespaces.upsert({ name: 'users', targets: ['ra', 'rb'], partitions: 2 });
    const ra = new RecordingSink('ra');
    const rb = new RecordingSink('rb');
    await started({ ra, rb });
    const appended = await walbox.appendMany(
      pool,
      Array.from({ length: 20 }, (_, i) => ({
        namespace: 'users',
        key: `u${i % 4}`,
        op: 'upsert',
        payload: { i },
        // A few entries go to rb only: replaying to ra must leave them out.
        ...(i % 7 === 6 ? { targets: ['rb'] } : {}),
      })),
    );
    const forA = appended.filter((e) => e.targets.includes('ra'));
    await until(() => has(ra, forA) && has(rb, appended), 20_000, 'first delivery');
    const markA = ra.applied.length;
    const markB = rb.applied.length;

    const from = appended[3]!.id;
    const to = appended[16]!.id;
    const exclude = [appended[5]!.id, appended[10]!.id, appended[6]!.id];
    const expected = forA.filter((e) => inRange(e, from, to) && !exclude.includes(e.id));
    expect(expected.length).toBeGreaterThan(8);
    expect(await walbox.replay({ namespace: 'users', target: 'ra', from, to, exclude })).toBe(
      expected.length,
    );
    // Appended right after the replay: each waits behind the replayed entries of its key.
    const newer = await walbox.appendMany(
      pool,
      ['u0', 'u1', 'u2', 'u3'].map((key) => ({ namespace: 'users', key, op: 'upsert', payload: 'newer' })),
    );
    await until(() => ra.applied.length >= markA + expected.length + newer.length, 20_000, 'the replay');
    await until(() => has(rb, newer), 20_000, 'rb to get the newer entries');

    const replayed = ra.applied.slice(markA);
    expect(ids(replayed).sort(byId)).toEqual(ids([...expected, ...newer]).sort(byId));
    for (const key of ['u0', 'u1', 'u2', 'u3']) {
      const seen = ids(replayed.filter((e) => e.key === key));
      const want = [
        ...ids(expected.filter((e) => e.key === key)),
        ...ids(newer.filter((e) => e.key === key)),
      ];
      expect(seen, `key ${key}`).toEqual(want);
    }
    // rb got nothing again: only the newer entries.
    await new Promise((r) => setTimeout(r, 300));
    expect(ids(rb.applied.slice(markB)).sort(byId)).toEqual(ids(newer));
    const { rows } = await pool.query<{ n: number }>(`select count(*)::int as n from "${schema}".parked`);
    expect(rows[0]!.n).toBe(0);
  });

  it('queues a replay while no dispatcher runs (audit: pending) and delivers it to the newest entry on start', async () => {
    await walbox.namespaces.upsert({ name: 'events', targets: ['rc'] });
    const sink = new RecordingSink('rc');
    const first = await started({ rc: sink });
    const appended = await walbox.appendMany(
      pool,
      Array.from({ length: 8 }, (_, i) => ({ namespace: 'events', key: `e${i % 3}`, op: 'put', payload: i })),
    );
    await until(() => has(sink, appended), 20_000, 'first delivery');
    await until(
      async () => (await delivery(appended[7]!.id)).rc === 'applied',
      20_000,
      'the cursor to pass the entries',
    );
    await first.stop();

    const from = appended[3]!.id;
    expect(await walbox.replay({ namespace: 'events', target: 'rc', from })).toBe(5);
    for (const e of appended) {
      expect(await delivery(e.id), `entry ${e.id}`).toEqual({
        rc: BigInt(e.id) >= BigInt(from) ? 'pending' : 'applied',
      });
    }
    const mark = sink.applied.length;
    await started({ rc: sink });
    await until(() => sink.applied.length >= mark + 5, 20_000, 'the replay');
    const replayed = sink.applied.slice(mark);
    expect(ids(replayed).sort(byId)).toEqual(ids(appended.slice(3)));
    for (const key of ['e0', 'e1', 'e2']) {
      expect(ids(replayed.filter((e) => e.key === key))).toEqual(
        ids(appended.slice(3).filter((e) => e.key === key)),
      );
    }
    await until(
      async () => {
        for (const e of appended) if ((await delivery(e.id)).rc !== 'applied') return false;
        return true;
      },
      20_000,
      'audit to show the replayed entries applied',
    );
    // Nothing in the range for a target the entries were not addressed to.
    expect(await walbox.replay({ namespace: 'events', target: 'elsewhere', from })).toBe(0);
  });

  it('rejects a bad range or name before touching the database', async () => {
    await expect(walbox.replay({ namespace: 'events', target: 'rc', from: 'abc' })).rejects.toMatchObject({
      code: 'INVALID_CONFIG',
      field: 'from',
    });
    await expect(
      walbox.replay({ namespace: 'events', target: 'rc', from: '1', to: '-5' }),
    ).rejects.toBeInstanceOf(InvalidConfigError);
    await expect(
      walbox.replay({ namespace: 'events', target: 'rc', from: '1', exclude: ['2', 'x'] }),
    ).rejects.toMatchObject({ code: 'INVALID_CONFIG', field: 'exclude' });
    await expect(walbox.replay({ namespace: 'Events', target: 'rc', from: '1' })).rejects.toBeInstanceOf(
      InvalidNameError,
    );
    await expect(walbox.replay({ namespace: 'events', target: 'r c', from: '1' })).rejects.toBeInstanceOf(
      InvalidNameError,
    );
  });
});
