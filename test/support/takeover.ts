import type pg from 'pg';
import { expect } from 'vitest';
import type { ChildDispatcher } from './child-dispatcher.js';
import { until } from './recording-sink.js';

/**
 * The partitions of `namespace` whose drain lease `child` holds right now, with their lease_until. Per
 * namespace: a child also leases, briefly, the partitions of namespaces left idle by earlier tests, and
 * those numbers say nothing about who may drain the same partition number of this one.
 */
export async function leasesHeld(pool: pg.Pool, schema: string, namespace: string, child: ChildDispatcher) {
  const { rows } = await pool.query<{ partition: number; until: Date }>(
    `select partition, lease_until as until from "${schema}".cursors
      where namespace = $1 and lease_owner = $2 and lease_until > clock_timestamp() order by partition`,
    [namespace, child.dispatcherId],
  );
  return new Map(rows.map((r) => [r.partition, r.until]));
}

/**
 * Waits for a batch of `child` to be half in the store and sends `signal` right then, from the handler of
 * the child's own report (the child sleeps before the second half). Returns the moment of the signal and
 * the partitions of `namespace` whose lease the child held: exactly, with lease_until, after a SIGKILL (a dead process
 * keeps its leases); for a SIGTERM, those held just before or just after the signal (it releases them).
 */
export async function signalMidBatch(
  pool: pg.Pool,
  schema: string,
  namespace: string,
  child: ChildDispatcher,
  signal: 'SIGKILL' | 'SIGTERM',
): Promise<{ at: Date; held: Map<number, Date> }> {
  const before =
    signal === 'SIGTERM' ? await leasesHeld(pool, schema, namespace, child) : new Map<number, Date>();
  const at = await new Promise<Date>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no batch of the child went half-way in 60 s')), 60_000);
    child.onHalfway = () => {
      child.onHalfway = undefined;
      const now = new Date();
      process.kill(child.pid, signal);
      clearTimeout(timer);
      resolve(now);
    };
  });
  if (signal === 'SIGKILL') expect(await child.exited).toEqual({ code: null, signal: 'SIGKILL' });
  const after = await leasesHeld(pool, schema, namespace, child);
  return { at, held: new Map([...before, ...after]) };
}

/**
 * When each of `partitions` first saw a batch of a process other than `gone` after `since`; waits (up to
 * 60 s) until all did.
 */
export async function firstBatchesOfOthers(
  pool: pg.Pool,
  replica: string,
  gone: ChildDispatcher,
  since: Date,
  partitions: readonly number[],
): Promise<Map<number, Date>> {
  const first = new Map<number, Date>();
  await until(
    async () => {
      const { rows } = await pool.query<{ partition: number; first: Date }>(
        `select partition, min(started_at) as first from "${replica}".batches
          where pid <> $1 and started_at > $2 and partition = any($3::int[]) group by partition`,
        [gone.pid, since, partitions],
      );
      for (const r of rows) first.set(r.partition, r.first);
      return first.size === partitions.length;
    },
    60_000,
    `another dispatcher to take over partitions ${partitions.join(', ')}`,
  );
  return first;
}
