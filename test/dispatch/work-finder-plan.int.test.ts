// The work finder (src/dispatch/work-finder.ts) asks, for every cursor, whether its next window holds an
// entry. It used to ask by taking the window's first entry in id order, which sorted the whole window: with a
// backlog of 37,000 entries in each of 8 partitions, 122,000 buffers and 410-850 ms per call, every
// supervisor tick while the backlog drained. Any entry will do: the test now stops at the first one.
import { describe, expect, it } from 'vitest';
import { WorkFinder } from '../../src/dispatch/work-finder.js';
import { isolatedWalbox } from '../support/db.js';
import { planNodes, recordingSql } from '../support/plans.js';

const { pool, walbox, schema } = await isolatedWalbox('work-finder-plan');

describe('the work finder', () => {
  it('finds a partition with a large window without reading the window', async () => {
    await walbox.namespaces.upsert({ name: 'f', partitions: 1, targets: ['t'] });
    for (let i = 0; i < 5; i++) {
      await walbox.appendMany(
        pool,
        Array.from({ length: 1000 }, (_, j) => ({
          namespace: 'f',
          key: `k${j}`,
          op: 'upsert',
          payload: { i, j, text: 'x'.repeat(200) },
        })),
      );
    }
    await pool.query(`analyze "${schema}".entries`);
    const { sql: spy, last } = recordingSql(pool, schema);
    const finder = new WorkFinder(spy, ['t'], 'me');
    // The cursor is new: its window holds all 5,000 entries.
    expect(await finder.pending()).toEqual([{ namespace: 'f', target: 't', partition: 0 }]);
    const { rows } = await pool.query(
      `explain (analyze, buffers, format json) ${last.text}`,
      last.values as unknown[],
    );
    const top = planNodes(rows)[0]!;
    // Taking the window's first entry in id order read every page of it (258 buffers, then a sort of 5,000
    // entries); stopping at any entry reads 9.
    const buffers = (top['Shared Hit Blocks'] ?? 0) + (top['Shared Read Blocks'] ?? 0);
    expect(buffers).toBeLessThan(50);

    // Nothing new past a window that closed now: not pending.
    await pool.query(
      `update "${schema}".cursors set prev_snapshot = pg_current_snapshot() where namespace = 'f'`,
    );
    expect(await finder.pending()).toEqual([]);
  });
});
