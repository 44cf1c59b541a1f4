// A read that stops at its limit inside interleaved transactions is completed (whole-transactions.ts) by a
// prepared statement, whose generic plan is made once per connection, often while the day's partition is
// small. Written as a join of the span to the end of the open transactions, that plan read every entry of the
// (namespace, partition) written that day through the reader index and filtered on the id (a backlog of
// 57,000 entries: 10,318 buffers, 31 ms, for 274 entries). The span is now a range of the primary key that no
// other index can answer.
import { describe, expect, it } from 'vitest';
import { completeTransactions } from '../../src/dispatch/whole-transactions.js';
import { ENTRY_COLUMNS, type Entry, type EntryRow, entryFromRow } from '../../src/entry.js';
import { isolatedWalbox } from '../support/db.js';
import { planNodes, recordingSql } from '../support/plans.js';

const { pool, walbox, schema } = await isolatedWalbox('completion-plan');

const snap = async () =>
  (await pool.query<{ s: string }>('select pg_current_snapshot()::text as s')).rows[0]!.s;

/** Two transactions open at once, appending in turn: their entries interleave in id order. */
async function interleaved(tag: string): Promise<void> {
  const clients = await Promise.all([pool.connect(), pool.connect()]);
  try {
    for (const c of clients) await c.query('begin');
    for (let j = 0; j < 3; j++) {
      for (const [w, c] of clients.entries()) {
        await walbox.append(c, { namespace: 'c', key: `${tag}-${w}`, op: 'upsert', payload: { j } });
      }
    }
    for (const c of clients) await c.query('commit');
  } finally {
    for (const c of clients) c.release();
  }
}

/** The entries of namespace c with ids above `after`, in id order. */
async function entriesAfter(after: string): Promise<Entry[]> {
  const { rows } = await pool.query<EntryRow>(
    `select ${ENTRY_COLUMNS} from "${schema}".entries e where e.namespace = 'c' and e.id > $1 order by e.id`,
    [after],
  );
  return rows.map((r) => entryFromRow(r));
}

describe('completing a read cut inside interleaved transactions', () => {
  it('reads the span by primary key after its plan was made on a small partition', async () => {
    await walbox.namespaces.upsert({ name: 'c', partitions: 1, targets: ['t'] });
    const ref = { namespace: 'c', target: 't', partition: 0 };
    const { sql: spy, last: recorded } = recordingSql(pool, schema);
    const arg = (v: unknown) =>
      v === null
        ? 'null'
        : Array.isArray(v)
          ? `'{${v.join(',')}}'`
          : `'${v instanceof Date ? v.toISOString() : String(v)}'`;
    /** A read of the window (prev, now] cut after its first entry, completed: the statement and its result. */
    const completeAfterFirst = async (prev: string, after: string) => {
      const window = await entriesAfter(after);
      const first = window[0]!;
      const done = await completeTransactions(spy, ref, {
        entries: [first],
        next: { prev, cur: await snap(), afterId: first.id },
      });
      return { window, done };
    };

    const c = await pool.connect();
    try {
      // Planned once, generic, while the partition holds six entries.
      await c.query('set plan_cache_mode = force_generic_plan');
      let prev = await snap();
      await interleaved('small');
      const small = await completeAfterFirst(prev, '0');
      expect(small.done.entries.map((e) => e.id)).toEqual(small.window.map((e) => e.id));
      await c.query(`prepare complete as ${recorded.text}`);
      await c.query(`execute complete(${recorded.values.map(arg).join(', ')})`);

      // A day's backlog of the partition, the same cut, and more entries after it (the drain is behind).
      const backlog = async () => {
        for (let i = 0; i < 10; i++) {
          await walbox.appendMany(
            pool,
            Array.from({ length: 500 }, (_, j) => ({
              namespace: 'c',
              key: `k${j % 100}`,
              op: 'upsert',
              payload: { i },
            })),
          );
        }
      };
      await backlog();
      const last = (await entriesAfter('0')).at(-1)!.id;
      prev = await snap();
      await interleaved('big');
      await backlog();
      const big = await completeAfterFirst(prev, last);
      expect(big.done.entries.map((e) => e.id)).toEqual(big.window.slice(0, 6).map((e) => e.id));

      const { rows } = await c.query(
        `explain (analyze, buffers, format json) execute complete(${recorded.values.map(arg).join(', ')})`,
      );
      const plan = planNodes(rows);
      const top = plan[0]!;
      const buffers = (top['Shared Hit Blocks'] ?? 0) + (top['Shared Read Blocks'] ?? 0);
      if (process.env.SHOW_PLAN)
        console.log(
          buffers,
          JSON.stringify(plan.map((n) => [n['Node Type'], n['Index Name'], n['Rows Removed by Filter']])),
        );
      // The span holds the two transactions' six entries and nothing else: a few pages of each index it
      // probes (5 here), none of the 10,000 entries around it (walking the key index: 29).
      expect(buffers).toBeLessThan(20);
      expect(Math.max(...plan.map((n) => n['Rows Removed by Filter'] ?? 0))).toBeLessThan(100);
    } finally {
      c.release();
    }
  });
});
