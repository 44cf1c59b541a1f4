import type pg from 'pg';
import type { EntryInput } from '../../src/index.js';
import type { BenchChild } from './bench-child.js';
import { CpuMeter } from './cpu.js';
import { CommitLedger, wallClock } from './delivery-stats.js';

/** BENCH_KEY_SPACE: how many distinct keys the entries are drawn from (default 10,000). */
const KEYS = Number(process.env.BENCH_KEY_SPACE ?? 10_000);

/** About 200 bytes of JSON; `tx` is how the child's reports find the entry's commit time. */
function payload(tx: number, i: number) {
  return {
    tx,
    order: `ord-${String(i).padStart(9, '0')}`,
    customer: `customer-${String(i % 100_000).padStart(6, '0')}`,
    amount: 4000 + (i % 5000),
    currency: 'EUR',
    items: [
      { sku: 'SKU-000017', qty: 2, price: 1999 },
      { sku: 'SKU-004242', qty: 1, price: 2001 + (i % 3000) },
    ],
  };
}

let seq = 0;
/** `n` upserts of producer transaction `tx`, keys spread over 10,000. */
export function entries(namespace: string, tx: number, n: number): EntryInput[] {
  return Array.from({ length: n }, () => ({
    namespace,
    key: `k${Math.floor(Math.random() * KEYS)}`,
    op: 'upsert',
    payload: payload(tx, seq++),
  }));
}

/** BEGIN; `work`; COMMIT on `client`, the transaction's commit time noted as delivery-stats explains. */
export async function transaction(
  client: pg.PoolClient,
  ledger: CommitLedger,
  tx: number,
  work: () => Promise<unknown>,
): Promise<void> {
  await client.query('begin');
  try {
    await work();
  } catch (err) {
    await client.query('rollback');
    throw err;
  }
  const sentAt = wallClock();
  await client.query('commit');
  ledger.committed(tx, sentAt);
}

export interface Produced {
  ledger: CommitLedger;
  meter: CpuMeter;
  appended: number;
  /** The producing window. */
  from: number;
  to: number;
  /** Share of producer time spent waiting for the consumer (maxLag): > 0 means the consumer was the limit. */
  waited: number;
}

/**
 * `producers` connections, each committing `txEntries` entries per transaction for `seconds`, pausing while
 * more than `maxLag` committed entries wait for the consumer.
 */
export async function produceBatches(o: {
  pool: pg.Pool;
  child: BenchChild;
  producers: number;
  txEntries: number;
  seconds: number;
  maxLag: number;
  namespace: string;
  append: (client: pg.PoolClient, batch: EntryInput[]) => Promise<unknown>;
}): Promise<Produced> {
  const ledger = new CommitLedger();
  const clients = await Promise.all(Array.from({ length: o.producers }, () => o.pool.connect()));
  let appended = 0;
  let waitedMs = 0;
  const meter = await CpuMeter.start(o.pool);
  const from = wallClock();
  const deadline = from + o.seconds * 1000;
  try {
    await Promise.all(
      clients.map(async (client) => {
        while (wallClock() < deadline) {
          if (appended - o.child.delivered > o.maxLag) {
            const t = wallClock();
            await o.child.nextReport(100);
            waitedMs += wallClock() - t;
            continue;
          }
          const tx = ledger.begin();
          const batch = entries(o.namespace, tx, o.txEntries);
          await transaction(client, ledger, tx, () => o.append(client, batch));
          appended += batch.length;
        }
      }),
    );
  } finally {
    for (const c of clients) c.release();
  }
  const to = wallClock();
  return { ledger, meter, appended, from, to, waited: waitedMs / (o.producers * (to - from)) };
}

/**
 * Single-entry transactions (BEGIN; append; COMMIT), `rate` per second in total, paced over `clients`.
 * The first `warmupMs` are not measured. Producers behind their schedule keep going until every scheduled
 * append is done: `achieved` is the rate they managed in the time it took.
 */
export async function producePaced(o: {
  pool: pg.Pool;
  clients: pg.PoolClient[];
  rate: number;
  warmupMs: number;
  seconds: number;
  append: (client: pg.PoolClient, entry: EntryInput) => Promise<unknown>;
  namespace: string;
}): Promise<Produced & { achieved: number }> {
  const ledger = new CommitLedger();
  const n = o.clients.length;
  let appended = 0;
  let measured = 0;
  let lastCommit = 0;
  const meter = await CpuMeter.start(o.pool);
  const start = wallClock();
  const from = start + o.warmupMs;
  const end = from + o.seconds * 1000;
  const interval = (1000 * n) / o.rate;
  await Promise.all(
    o.clients.map(async (client, i) => {
      for (let k = 0; ; k++) {
        const due = start + (k + i / n) * interval;
        if (due >= end) break;
        if (due > wallClock() + 1) await sleep(due - wallClock());
        const tx = due < from ? 0 : ledger.begin(); // tx 0 has no commit time: not in the figures
        await transaction(client, ledger, tx, () => o.append(client, entries(o.namespace, tx, 1)[0]!));
        appended++;
        if (tx !== 0) measured++;
        lastCommit = wallClock();
      }
    }),
  );
  const achieved = (measured * 1000) / Math.max(end - from, lastCommit - from);
  return { ledger, meter, appended, from, to: wallClock(), waited: 0, achieved };
}

const sleep = (t: number) => new Promise((r) => setTimeout(r, Math.max(0, t)));
