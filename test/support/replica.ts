import type pg from 'pg';
import { afterAll } from 'vitest';

/**
 * The store the child dispatchers write to (test/fixtures/dispatcher-child.ts): a version-guarded replica,
 * an append-only log of deliveries and the interval of every batch, in a schema of its own dropped after
 * the file. Register it after isolatedWalbox(), so the pool is still open when it is dropped.
 */
export async function replicaSchema(
  pool: pg.Pool,
  walboxSchema: string,
  suffix = 'replica',
): Promise<string> {
  const name = `${walboxSchema}_${suffix}`;
  const q = `"${name}"`;
  await pool.query(`create schema ${q}`);
  await pool.query(`
    create table ${q}.replica (
      key text primary key, value jsonb, version bigint not null, deleted boolean not null);
    create table ${q}.deliveries (
      seq bigint generated always as identity primary key,
      entry_id bigint not null, key text not null, partition int not null, pid int not null,
      batch bigint not null, at timestamptz not null default clock_timestamp());
    create table ${q}.batches (
      id bigint generated always as identity primary key,
      partition int not null, pid int not null, size int not null,
      started_at timestamptz not null default clock_timestamp(), ended_at timestamptz, error text)`);
  afterAll(async () => {
    await pool.query(`drop schema if exists ${q} cascade`);
  });
  return name;
}

export interface Delivery {
  seq: number;
  entryId: string;
  key: string;
  partition: number;
  pid: number;
  batch: string;
  at: Date;
}

export interface Batch {
  id: string;
  partition: number;
  pid: number;
  size: number;
  startedAt: Date;
  endedAt: Date | null;
  /** Why apply failed, if it did. */
  error: string | null;
}

export async function readDeliveries(pool: pg.Pool, schema: string): Promise<Delivery[]> {
  const { rows } = await pool.query<Delivery>(
    `select seq::int, entry_id::text as "entryId", key, partition, pid, batch::text, at
       from "${schema}".deliveries order by seq`,
  );
  return rows;
}

export async function readBatches(pool: pg.Pool, schema: string): Promise<Batch[]> {
  const { rows } = await pool.query<Batch>(
    `select id::text, partition, pid, size, started_at as "startedAt", ended_at as "endedAt", error
       from "${schema}".batches order by started_at, id`,
  );
  return rows;
}

export async function readReplica(
  pool: pg.Pool,
  schema: string,
): Promise<Map<string, { value: unknown; version: string; deleted: boolean }>> {
  const { rows } = await pool.query<{ key: string; value: unknown; version: string; deleted: boolean }>(
    `select key, value, version::text, deleted from "${schema}".replica`,
  );
  return new Map(rows.map((r) => [r.key, { value: r.value, version: r.version, deleted: r.deleted }]));
}

/** How many distinct entry ids reached the store. */
export async function countDelivered(pool: pg.Pool, schema: string): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    `select count(distinct entry_id)::int as n from "${schema}".deliveries`,
  );
  return rows[0]!.n;
}

/**
 * Keys whose entries one process delivered out of log order: for each (pid, key), entry ids must strictly
 * increase in delivery order. Returns descriptions of the violations (empty when all is well).
 */
export function orderViolations(deliveries: readonly Delivery[]): string[] {
  const last = new Map<string, bigint>();
  const bad: string[] = [];
  for (const d of deliveries) {
    const k = `${d.pid}/${d.key}`;
    const id = BigInt(d.entryId);
    const prev = last.get(k);
    if (prev !== undefined && id <= prev) bad.push(`pid ${d.pid} key ${d.key}: ${id} after ${prev}`);
    last.set(k, id);
  }
  return bad;
}

/**
 * Pairs of batches of one partition that ran at the same time. One process drains a partition one batch at a
 * time, so any overlap means two holders at once. A batch cut short by a SIGKILL (no end) is taken to run
 * until its process was killed (`killedAt`), any other open batch until now.
 */
export function overlappingBatches(
  batches: readonly Batch[],
  killedAt: ReadonlyMap<number, Date> = new Map(),
): string[] {
  const now = new Date();
  const end = (b: Batch) => b.endedAt ?? killedAt.get(b.pid) ?? now;
  const byPartition = new Map<number, Batch[]>();
  for (const b of batches) byPartition.set(b.partition, [...(byPartition.get(b.partition) ?? []), b]);
  const bad: string[] = [];
  for (const [partition, list] of byPartition) {
    list.sort((a, b) => a.startedAt.getTime() - b.startedAt.getTime());
    let prev: Batch | undefined;
    for (const b of list) {
      if (prev && end(prev).getTime() > b.startedAt.getTime()) {
        bad.push(
          `partition ${partition}: pid ${prev.pid} ${prev.startedAt.toISOString()}..${end(prev).toISOString()}` +
            ` and pid ${b.pid} from ${b.startedAt.toISOString()}`,
        );
      }
      if (!prev || end(b).getTime() > end(prev).getTime()) prev = b;
    }
  }
  return bad;
}
