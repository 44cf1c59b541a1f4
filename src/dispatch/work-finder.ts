import { windowHasEntrySql } from '../snapshot-reader.js';
import type { Sql } from '../sql/context.js';
import { dueHeadKeysSql } from '../sql/parked-heads.js';
import type { PartitionRef } from './step-types.js';

/**
 * Finds (namespace, target, partition) triples for this dispatcher's targets that have work and no live
 * lease, or a lease of this dispatcher's own (`owner`): new committed entries past the cursor, an unfinished
 * window, or a parked entry that fell due. A drain cut short by a lost connection keeps its lease (the
 * release failed too); its own dispatcher takes it back at once instead of waiting for it to lapse.
 */
export class WorkFinder {
  constructor(
    private readonly sql: Sql,
    private readonly targets: string[],
    private readonly owner: string,
  ) {}

  async pending(): Promise<PartitionRef[]> {
    const { db, schema: s } = this.sql;
    // Cursors for every (namespace, target, partition) a namespace declares, so new ones are found too.
    await db.query(
      `insert into ${s}.cursors (namespace, target, partition)
       select n.name, t.target, p.partition
         from ${s}.namespaces n
         cross join unnest(n.targets) as t(target)
         cross join generate_series(0, n.partitions - 1) as p(partition)
        where t.target = any($1::text[])
       on conflict do nothing`,
      [this.targets],
    );
    // New entries: the cursor's next window holds one. Found as the drain reads it (index ranges and probes,
    // see windowHasEntrySql): a plain visibility test scanned all of a partition's past entries (1.4 s per
    // call at 1M entries), and a range from xmin(prev) every entry since a transaction that stays open.
    const { rows } = await db.query<PartitionRef>(
      `select c.namespace, c.target, c.partition
         from ${s}.cursors c
        where c.target = any($1::text[])
          and (c.lease_until is null or c.lease_until < clock_timestamp() or c.lease_owner = $2)
          and (c.cur_snapshot is not null
               or c.retry_at is not null
               or ${windowHasEntrySql(s, {
                 namespace: 'c.namespace',
                 partition: 'c.partition',
                 prev: 'c.prev_snapshot',
                 cur: 'pg_current_snapshot()',
                 target: 'c.target = any(e.targets)',
                 guard: 'true',
               })}
               or exists (${dueHeadKeysSql(s, 'c.namespace', 'c.target', 'c.partition', 'clock_timestamp()', '1')}))`,
      [this.targets, this.owner],
    );
    return rows;
  }
}
