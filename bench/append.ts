/**
 * Benchmark of the append path: the cost walbox.append adds to a business transaction, and appendMany
 * throughput against a bare multi-row INSERT. Not a test: it prints numbers next to their goals.
 *
 *   npm run bench:append
 *   BENCH_SECONDS=8    seconds per measured variant, split over the rounds
 *   BENCH_WORKERS=8    concurrent transactions of the append-in-tx part (a 1-worker run always follows);
 *                      with more than one worker, appends also run with walbox.notify=off, since NOTIFY
 *                      serializes committing transactions on Postgres's notify-queue lock. Two "floor" variants: one
 *                      inserts the same entry row straight into the log table (what any outbox row costs),
 *                      one adds a `select 1` (what any extra statement in the transaction costs).
 *   BENCH_ROUNDS=3     alternating A/B rounds per comparison
 *   BENCH_CONNS=1,2,4  concurrent connections of the appendMany part
 *   BENCH_KEYS=shared  appendMany keys: shared (all connections over 10,000 keys) or disjoint (per connection)
 *   DATABASE_URL       else postgres://postgres@127.0.0.1:5432/test, else an embedded Postgres
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import pg from 'pg';
import { type EntryInput, Walbox } from '../src/index.js';
import { openBenchDatabase, redact } from './support/database.js';
import { alternate, fmt, type PhaseResult, percentile, perSecond, runPhase } from './support/measure.js';

const SECONDS = envNumber('BENCH_SECONDS', 8);
const WORKERS = envNumber('BENCH_WORKERS', 8);
const ROUNDS = envNumber('BENCH_ROUNDS', 3);
const CONNS = (process.env.BENCH_CONNS ?? '1,2,4').split(',').map((c) => {
  const n = Number(c);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`BENCH_CONNS must list positive integers, got ${c}`);
  return n;
});
const WARMUP_SECONDS = Math.min(1, SECONDS / 10);
const BATCH = 1000;
const KEYS = 10_000;
/** BENCH_KEYS=disjoint: each appendMany connection writes keys of its own (default: shared). */
const DISJOINT = process.env.BENCH_KEYS === 'disjoint';
/** Issue 9's goals: a 1-entry append in a transaction within 10% of the plain-INSERT floor; appendMany at
 * least 70% of a bare insert of the same rows at every connection count, and no slower at 4 than at 1. */
const FLOOR_GOAL = 1.1;
const BARE_SHARE_GOAL = 0.7;
const SCALING_GOAL = 1;

/** Other processes on the machine skew every number here; printed at the start and the end. */
function loadavg(): string {
  return os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}

function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  const n = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got ${raw}`);
  return n;
}

/** The commit measured, flagging uncommitted changes to what the benchmark runs (the SQL and the SDK). */
function revision(): string {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { encoding: 'utf8' }).trim();
    const dirty = git('status', '--porcelain', '--', 'migrations', 'sql', 'src') !== '';
    return `${git('rev-parse', '--short', 'HEAD')}${dirty ? ' + uncommitted changes in migrations/, sql/ or src/' : ''}`;
  } catch {
    return 'unknown (no git)';
  }
}

interface OrderRow {
  id: string;
  customer: string;
  amount: number;
  created_at: Date;
}

/** The order as an outbox payload: the row plus a few line items, about 200 bytes of JSON. */
function orderPayload(o: OrderRow) {
  return {
    id: o.id,
    customer: o.customer,
    amount: o.amount,
    currency: 'EUR',
    createdAt: o.created_at,
    items: [
      { sku: 'SKU-000017', qty: 2, price: 1999 },
      { sku: 'SKU-004242', qty: 1, price: o.amount - 3998 },
    ],
  };
}

function randomOrder(i: number): OrderRow {
  return {
    id: String(i),
    customer: `customer-${String(i % 100_000).padStart(6, '0')}`,
    amount: 4000 + (i % 5000),
    created_at: new Date(),
  };
}

async function main() {
  const db = await openBenchDatabase();
  const schema = `bench_append_${randomBytes(4).toString('hex')}`;
  const q = `"${schema}"`;
  const pool = new pg.Pool({ connectionString: db.url, max: Math.max(WORKERS, ...CONNS) + 2 });
  const walbox = new Walbox({ pool, schema });
  try {
    const cpus = os.cpus();
    const { rows } = await pool.query<{ version: string }>('select version()');
    console.log(
      `config      BENCH_SECONDS=${SECONDS} BENCH_WORKERS=${WORKERS} BENCH_ROUNDS=${ROUNDS} BENCH_CONNS=${CONNS.join(',')}  node ${process.version}`,
    );
    console.log(
      `machine     ${cpus.length} cpus  ${cpus[0]?.model.trim()}  ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM  ${os.platform()} ${os.release()}  load ${loadavg()}`,
    );
    console.log(`postgres    ${rows[0]!.version}`);
    console.log(`code        ${revision()}`);
    console.log(`database    ${redact(db.url)} (${db.source})  schema ${schema}`);

    await walbox.migrate();
    await walbox.namespaces.upsert({ name: 'orders', targets: ['search'] });
    await walbox.namespaces.upsert({ name: 'bulk', targets: ['search'] });
    await pool.query(`create table ${q}.orders (
      id bigserial primary key, customer text not null, amount int not null,
      created_at timestamptz not null default now())`);
    // What the bare reference writes: the same rows into a plain table, no walbox.
    await pool.query(`create table ${q}.plain_entries (
      id bigserial primary key, namespace text not null, key text not null, op text not null, payload jsonb,
      created_at timestamptz not null default now())`);

    for (const workers of [...new Set([WORKERS, 1])]) await appendInTx(pool, walbox, q, workers);
    const rates = new Map<number, number>();
    for (const conns of CONNS) rates.set(conns, await appendManyThroughput(pool, walbox, q, conns));
    const [fewest, most] = [Math.min(...CONNS), Math.max(...CONNS)];
    if (most > fewest) {
      const scaling = rates.get(most)! / rates.get(fewest)!;
      console.log(
        `appendMany    scaling  conns=${most} / conns=${fewest}  ${fmt.ratio(scaling)} (goal >= ${SCALING_GOAL}) ${scaling >= SCALING_GOAL ? 'ok' : 'MISSED'}`,
      );
    }
    console.log(`done        load ${loadavg()}`);
  } finally {
    await walbox.close();
    await pool.query(`drop schema if exists ${q} cascade`).catch((err) => console.error('cleanup:', err));
    await pool.end();
    await db.stop();
  }
}

/** BEGIN; INSERT order; COMMIT against the same plus walbox.append of the order, on `workers` connections. */
async function appendInTx(pool: pg.Pool, walbox: Walbox, q: string, workers: number) {
  const clients = await Promise.all(Array.from({ length: workers }, () => pool.connect()));
  // Session-level, so the timed transactions carry no extra round trip.
  const notifyOff = async (s: number) => {
    await Promise.all(clients.map((c) => c.query(`set walbox.notify = 'off'`)));
    try {
      return await runPhase(clients, s, tx('append'));
    } finally {
      await Promise.all(clients.map((c) => c.query('reset walbox.notify')));
    }
  };
  let n = 0;
  type Extra = 'none' | 'append' | 'floor' | 'roundTrip';
  const tx = (extra: Extra) => async (client: pg.PoolClient) => {
    const customer = `customer-${String(n++ % 100_000).padStart(6, '0')}`;
    await client.query('begin');
    try {
      const { rows } = await client.query<OrderRow>(
        `insert into ${q}.orders (customer, amount) values ($1, $2) returning id, customer, amount, created_at`,
        [customer, 4000 + (n % 5000)],
      );
      const order = rows[0]!;
      if (extra === 'append') {
        await walbox.append(client, {
          namespace: 'orders',
          key: order.id,
          op: 'upsert',
          payload: orderPayload(order),
        });
      } else if (extra === 'roundTrip') {
        // What any extra statement in the transaction costs, whatever it does.
        await client.query('select 1');
      } else if (extra === 'floor') {
        await client.query(
          `insert into ${q}.entries (namespace, key, partition, op, payload, targets)
           values ('orders', $1, 0, 'upsert', $2, '{search}') returning *`,
          [order.id, JSON.stringify(orderPayload(order))],
        );
      }
      await client.query('commit');
    } catch (err) {
      await client.query('rollback');
      throw err;
    }
    return 1;
  };
  try {
    await runPhase(clients, WARMUP_SECONDS, tx('none'));
    await runPhase(clients, WARMUP_SECONDS, tx('append'));
    const variants = {
      baseline: (s: number) => runPhase(clients, s, tx('none')),
      withAppend: (s: number) => runPhase(clients, s, tx('append')),
      floor: (s: number) => runPhase(clients, s, tx('floor')),
      roundTrip: (s: number) => runPhase(clients, s, tx('roundTrip')),
    };
    const r = await alternate(workers > 1 ? { ...variants, notifyOff } : variants, SECONDS, ROUNDS);
    const line = (label: string, p: PhaseResult, judged = true) => {
      const ratio = perSecond(r.baseline, 'ops') / perSecond(p, 'ops');
      // The goal compares with the floor: the same transaction inserting the entry row by hand.
      const toFloor = perSecond(r.floor, 'ops') / perSecond(p, 'ops');
      const verdict = judged
        ? `| floor/this ${fmt.ratio(toFloor)} (goal <= ${FLOOR_GOAL}) ${toFloor <= FLOOR_GOAL ? 'ok' : 'MISSED'}`
        : '(reference, no goal)';
      console.log(
        `append-in-tx  workers=${workers}  baseline ${txLine(r.baseline)} | ${label} ${txLine(p)} | ratio ${fmt.ratio(ratio)} ${verdict}`,
      );
    };
    line('with append', r.withAppend);
    if ('notifyOff' in r) line('with append, walbox.notify=off', r.notifyOff);
    line('floor: plain INSERT of the entry row', r.floor, false);
    line('floor: one more round trip (select 1)', r.roundTrip, false);
  } finally {
    for (const c of clients) c.release();
  }
}

function txLine(p: PhaseResult): string {
  return `${fmt.rate(perSecond(p, 'ops'))} tx/s p50 ${fmt.ms(percentile(p, 0.5))} p99 ${fmt.ms(percentile(p, 0.99))}`;
}

/** Batches of 1,000 entries over 10,000 keys via appendMany(pool), against one bare INSERT of the same rows. */
async function appendManyThroughput(
  pool: pg.Pool,
  walbox: Walbox,
  q: string,
  conns: number,
): Promise<number> {
  // Built up front and reused in turn, so that the timing is walbox's and not the benchmark's own.
  let n = 0;
  // Shared keys: every connection draws from the same 10,000, so concurrent batches hold keys in common and
  // wait for each other (per-key order). Disjoint: each connection has keys of its own, as producers of
  // different entities do.
  const build = (prefix: string) =>
    Array.from({ length: 32 }, () =>
      Array.from({ length: BATCH }, () => ({
        namespace: 'bulk',
        key: `${prefix}k${Math.floor(Math.random() * KEYS)}`,
        op: 'upsert',
        payload: orderPayload(randomOrder(n++)),
      })),
    );
  const batches: EntryInput[][][] = Array.from({ length: conns }, (_, c) => build(DISJOINT ? `c${c}-` : ''));
  const next = new Array<number>(conns).fill(0);
  const batch = (slot: number) => batches[slot]![next[slot]!++ % 32]!;
  const viaWalbox = async (slot: number) => (await walbox.appendMany(pool, batch(slot))).length;
  const bare = async (slot: number) => {
    const { rowCount } = await pool.query(
      `insert into ${q}.plain_entries (namespace, key, op, payload)
       select namespace, key, op, payload
         from json_to_recordset($1::json) as x(namespace text, key text, op text, payload jsonb)`,
      [JSON.stringify(batch(slot))],
    );
    return rowCount ?? 0;
  };
  const slots = Array.from({ length: conns }, (_, i) => i);
  await runPhase(slots, WARMUP_SECONDS, viaWalbox);
  await runPhase(slots, WARMUP_SECONDS, bare);
  const r = await alternate(
    {
      appendMany: (s) => runPhase(slots, s, viaWalbox),
      bare: (s) => runPhase(slots, s, bare),
    },
    SECONDS,
    ROUNDS,
  );
  const walboxRate = perSecond(r.appendMany, 'items');
  const bareRate = perSecond(r.bare, 'items');
  console.log(
    `appendMany    conns=${conns}  batch=${BATCH}  keys=${DISJOINT ? 'disjoint' : 'shared'}  ${fmt.rate(walboxRate)} entries/s p50 ${fmt.ms(percentile(r.appendMany, 0.5))}/batch | bare insert ${fmt.rate(bareRate)} entries/s p50 ${fmt.ms(percentile(r.bare, 0.5))}/batch | appendMany/bare ${fmt.ratio(walboxRate / bareRate)} (goal >= ${BARE_SHARE_GOAL}) ${walboxRate / bareRate >= BARE_SHARE_GOAL ? 'ok' : 'MISSED'}`,
  );
  return walboxRate;
}

await main();
