// A drain step's read runs as a prepared statement, whose generic plan is made once per connection, often
// while the day's partition is nearly empty. Then every index on (namespace, ...) costs the same to the
// planner, and a plan that walked the key index (namespace, key, id) and filtered kept doing so as the
// partition grew: every step read every entry of the namespace written that day (chaos scenario 5: 200 ->
// 2,235 buffers per step within two minutes). The read's arms ask for the reader index's order, so that
// index wins the tie whatever the statistics.
import { describe, expect, it } from 'vitest';
import { startStep } from '../../src/dispatch/step-start.js';
import { isolatedWalbox } from '../support/db.js';
import { planNodes, recordingSql } from '../support/plans.js';

const { pool, walbox, schema } = await isolatedWalbox('window-plan');

describe('the drain step read', () => {
  it('keeps using the reader index after its plan was made on an empty partition', async () => {
    await walbox.namespaces.upsert({ name: 'w', partitions: 2, targets: ['t'] });
    await pool.query(
      `insert into "${schema}".cursors (namespace, target, partition, lease_owner, lease_until)
       values ('w', 't', 1, 'me', now() + interval '1 hour')`,
    );
    const ref = { namespace: 'w', target: 't', partition: 1 };
    const { sql: spy, last } = recordingSql(pool, schema);
    const snap = async () =>
      (await pool.query<{ s: string }>('select pg_current_snapshot()::text as s')).rows[0]!.s;
    const c = await pool.connect();
    try {
      await startStep(spy, ref, 'me', { prev: await snap(), cur: null, afterId: null }, 400);
      await c.query(`prepare step as ${last.text}`);
      const args = () => last.values.map((v) => (v === null ? 'null' : `'${v}'`)).join(', ');
      for (let i = 0; i < 8; i++) await c.query(`execute step(${args()})`); // past the custom plans: generic now
      for (let i = 0; i < 10; i++) {
        await walbox.appendMany(
          pool,
          Array.from({ length: 500 }, (_, j) => ({
            namespace: 'w',
            key: `k${j % 100}`,
            op: 'upsert',
            payload: { i },
          })),
        );
      }
      // A window opening now, with a transaction running at prev (its xid probed), and a few new entries.
      const prev = await snap();
      const xmax = Number(prev.split(':')[1]);
      await walbox.appendMany(pool, [{ namespace: 'w', key: 'new', op: 'upsert', payload: {} }]);
      await startStep(
        spy,
        ref,
        'me',
        { prev: `${xmax - 1}:${xmax}:${xmax - 1}`, cur: null, afterId: null },
        400,
      );
      const { rows } = await c.query(`explain (analyze, format json) execute step(${args()})`);
      const plan = planNodes(rows);
      const scans = plan.filter((n) => n['Index Name']?.startsWith('entries_p'));
      expect(scans.length).toBeGreaterThan(0);
      for (const n of scans) expect(n['Index Name']).toMatch(/_namespace_partition_xid_idx$/);
      expect(Math.max(...plan.map((n) => n['Rows Removed by Filter'] ?? 0))).toBeLessThan(100);
    } finally {
      c.release();
    }
  });
});
