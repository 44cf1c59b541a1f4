import { describe, expect, it } from 'vitest';
import { isolatedWalbox } from '../support/db.js';
import { stopAfterEach } from '../support/dispatchers.js';
import { RecordingSink, until } from '../support/recording-sink.js';

const { pool, walbox } = await isolatedWalbox('delivery');
const running = stopAfterEach();

describe('dispatcher delivery', () => {
  it('delivers every committed entry to every target, in order, and no rolled-back one', async () => {
    await walbox.namespaces.upsert({ name: 'users', targets: ['a', 'b'], partitions: 3 });
    const a = new RecordingSink('a');
    const b = new RecordingSink('b');
    const d = walbox.dispatcher({ sinks: { a, b } });
    running.push(d);
    await d.start();
    const committed: string[] = [];
    for (let i = 0; i < 20; i++) {
      const client = await pool.connect();
      await client.query('begin');
      const stored = await walbox.appendMany(
        client,
        Array.from({ length: 10 }, (_, j) => ({
          namespace: 'users',
          key: `u${j % 7}`,
          op: 'upsert',
          payload: { i, j },
        })),
      );
      if (i % 5 === 4) await client.query('rollback');
      else {
        await client.query('commit');
        committed.push(...stored.map((s) => s.id));
      }
      client.release();
    }
    await until(
      () => a.applied.length >= committed.length && b.applied.length >= committed.length,
      20_000,
      'delivery',
    );
    for (const sink of [a, b]) {
      expect(new Set(sink.ids())).toEqual(new Set(committed));
      for (const ids of sink.byKey().values()) {
        expect(ids.map(BigInt)).toEqual([...ids.map(BigInt)].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)));
      }
    }
  });
});
