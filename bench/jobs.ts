/**
 * Benchmark of the delayed-job queue (walbox.jobs): on-time delivery of many scheduled jobs, and the drain
 * rate of a burst, next to the dispatcher's no-op throughput. The dispatcher runs in this process, with the
 * job sink and a no-op handler that notes how late each job started. Figures are printed, never asserted.
 *
 *   npm run bench:jobs
 *   BENCH_JOBS=100000           jobs of the on-time run, spread evenly over the horizon
 *   BENCH_JOBS_HORIZON_S=300    the horizon, in seconds. The goal is stated for one hour (3600); the default
 *                               scales it down twelvefold so that the run takes minutes: the same 100,000
 *                               jobs fall due twelve times as densely (333/s instead of 28/s)
 *   BENCH_JOBS_SAME_SECOND=1000 extra jobs due in one and the same second, halfway through the horizon
 *   BENCH_JOBS_SAME_SECOND_LAST=1   schedule those after the whole spread (the end of the log) instead of
 *                               in due order among the others
 *   BENCH_JOBS_LEAD_S=30        seconds from the start of scheduling to the first due time
 *   BENCH_BURST=100000          jobs due in the same minute, all at its first instant (the worst case)
 *   BENCH_NOOP=100000           plain entries drained by a no-op sink, for the dispatcher's throughput: as a
 *                               backlog (noop), and all delayed to one instant like the burst (noop-delayed)
 *   BENCH_PARTITIONS=4  BENCH_BATCH=400  BENCH_CONCURRENCY=8   queue and dispatcher settings
 *   BENCH_DISPATCHER='{"maxDrainMs":60000}'   dispatcher options over its defaults (JSON)
 *   BENCH_ANALYZE_S=30          with autovacuum off on the server (as on the test server), ANALYZE walbox's
 *                               parked, jobs and cursors tables this often, as autovacuum would: with the
 *                               statistics of an empty parked table, the dispatcher's read of due parked
 *                               entries is planned as a nested loop, quadratic in the parked rows (44.8 s
 *                               for one read of 4,112 rows, 77 ms after ANALYZE). 0: never
 *   BENCH_SCENARIOS=ontime,burst,noop,noop-delayed   which ones to run
 *   DATABASE_URL                else postgres://postgres@127.0.0.1:5432/test, else an embedded Postgres
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import {
  type DispatcherOptions,
  type Entry,
  functionSink,
  type JobQueue,
  type ScheduleInput,
  Walbox,
} from '../src/index.js';
import { openBenchDatabase, redact } from './support/database.js';
import { envNumber, machineLine, postgresVersion, revision } from './support/environment.js';

const JOBS = envNumber('BENCH_JOBS', 100_000);
const HORIZON_S = envNumber('BENCH_JOBS_HORIZON_S', 300);
const SAME_SECOND = envNumber('BENCH_JOBS_SAME_SECOND', 1000, { allowZero: true });
const SAME_SECOND_LAST = process.env.BENCH_JOBS_SAME_SECOND_LAST === '1';
const LEAD_S = envNumber('BENCH_JOBS_LEAD_S', 30);
const BURST = envNumber('BENCH_BURST', 100_000);
const NOOP = envNumber('BENCH_NOOP', 100_000);
const PARTITIONS = envNumber('BENCH_PARTITIONS', 4);
const BATCH = envNumber('BENCH_BATCH', 400);
const CONCURRENCY = envNumber('BENCH_CONCURRENCY', 8);
/** Dispatcher options over its defaults, e.g. '{"maxDrainMs":60000}'. */
const TUNING: DispatcherOptions = JSON.parse(process.env.BENCH_DISPATCHER || '{}');
const SCENARIOS = new Set((process.env.BENCH_SCENARIOS ?? 'ontime,burst,noop,noop-delayed').split(','));
const ANALYZE_S = envNumber('BENCH_ANALYZE_S', 30, { allowZero: true });
const CHUNK = 1000;
const SCHEDULERS = 4;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Lateness of each run (ms after run_at, by this machine's clock, which is also Postgres's). */
class Lateness {
  readonly late: number[] = [];
  early = 0;
  note(runAt: Date): void {
    const late = Date.now() - runAt.getTime();
    if (late < 0) this.early++;
    this.late.push(late);
  }
  summary(): string {
    const sorted = Float64Array.from(this.late).sort();
    const at = (q: number) =>
      sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
    return `lateness p50 ${at(0.5).toFixed(0)} ms  p99 ${at(0.99).toFixed(0)} ms  max ${at(1).toFixed(0)} ms  early: ${this.early}`;
  }
}

async function main() {
  const db = await openBenchDatabase();
  const schema = `bench_jobs_${randomBytes(4).toString('hex')}`;
  const pool = new pg.Pool({ connectionString: db.url, max: 20 });
  pool.on('error', (err) => console.error('pool:', err.message));
  const walbox = new Walbox({ pool, schema });
  console.log(`bench:jobs  ${revision(['src', 'sql', 'migrations', 'bench/jobs.ts'])}\n${machineLine()}`);
  console.log(
    `${(await postgresVersion(pool)).split(',')[0]}  ${redact(db.url)} (${db.source})  schema ${schema}`,
  );
  console.log(
    `partitions ${PARTITIONS}  batch ${BATCH}  concurrency ${CONCURRENCY}  dispatcher ${JSON.stringify(TUNING)}`,
  );
  const { rows } = await pool.query<{ autovacuum: string }>('show autovacuum');
  const emulate = rows[0]!.autovacuum !== 'on' && ANALYZE_S > 0;
  console.log(
    `autovacuum ${rows[0]!.autovacuum}${emulate ? `: the bench analyzes walbox's tables every ${ANALYZE_S} s in its stead` : ''}`,
  );
  const analyzer = emulate
    ? setInterval(() => {
        pool
          .query(`analyze "${schema}".parked, "${schema}".jobs, "${schema}".cursors`)
          .catch((err: Error) => console.error('analyze:', err.message));
      }, ANALYZE_S * 1000)
    : undefined;
  try {
    await walbox.migrate();
    if (SCENARIOS.has('ontime')) await onTime(walbox);
    const burst = SCENARIOS.has('burst') ? await burstDrain(walbox) : undefined;
    const noop = SCENARIOS.has('noop') ? await noopThroughput(walbox, false) : undefined;
    const parked = SCENARIOS.has('noop-delayed') ? await noopThroughput(walbox, true) : undefined;
    if (burst && noop) console.log(`burst drain rate / no-op throughput: ${(burst / noop).toFixed(2)}`);
    if (burst && parked) {
      console.log(`burst drain rate / no-op throughput of delayed entries: ${(burst / parked).toFixed(2)}`);
    }
  } finally {
    clearInterval(analyzer);
    await walbox.close();
    await pool.query(`drop schema if exists "${schema}", "${schema}_boss" cascade`).catch(() => {});
    await pool.end();
    await db.stop();
  }
}

/** Schedules `runAts` in chunks over a few connections; returns how long it took. */
async function scheduleAll(walbox: Walbox, queue: JobQueue, jobs: ScheduleInput[]): Promise<number> {
  const start = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: SCHEDULERS }, async () => {
      while (next < jobs.length) {
        const chunk = jobs.slice(next, next + CHUNK);
        next += CHUNK;
        await queue.scheduleMany(walbox.pool, chunk);
      }
    }),
  );
  return Date.now() - start;
}

async function waitFor(queue: JobQueue, total: number, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end && (await queue.counts()).succeeded < total) await sleep(500);
  if (Date.now() < end) return;
  throw new Error(`timed out: ${JSON.stringify(await queue.counts())}`);
}

async function dbEarly(walbox: Walbox, queue: string): Promise<number> {
  const { rows } = await walbox.pool.query<{ n: number }>(
    `select count(*)::int as n from "${walbox.schema}".jobs where queue = $1 and started_at < run_at`,
    [queue],
  );
  return rows[0]!.n;
}

async function onTime(walbox: Walbox): Promise<void> {
  const queue = walbox.jobs('ontime', { partitions: PARTITIONS });
  await queue.ensure();
  const lateness = new Lateness();
  const sameSecond = new Lateness();
  const sink = queue.sink((job) => (job.payload === 'same-second' ? sameSecond : lateness).note(job.runAt), {
    concurrency: 64,
  });
  const d = walbox.dispatcher({
    sinks: { [queue.namespace]: sink },
    batchSize: BATCH,
    concurrency: CONCURRENCY,
    ...TUNING,
  });
  await d.start();
  try {
    const t0 = Date.now() + LEAD_S * 1000;
    const middle = t0 + (HORIZON_S * 1000) / 2;
    const spread: ScheduleInput[] = Array.from({ length: JOBS }, (_, i) => ({
      runAt: new Date(t0 + Math.floor((i * HORIZON_S * 1000) / JOBS)),
      payload: null,
    }));
    const burst: ScheduleInput[] = Array.from({ length: SAME_SECOND }, (_, i) => ({
      runAt: new Date(middle + (i % 1000)),
      payload: 'same-second',
    }));
    // By default in due order, as a service would schedule them over time; with SAME_SECOND_LAST after the
    // whole spread, at the end of the log, where the dispatcher reads (and parks) them last.
    const all = SAME_SECOND_LAST
      ? [...spread, ...burst]
      : [...spread, ...burst].sort((a, b) => a.runAt!.getTime() - b.runAt!.getTime());
    console.log(
      `\non time: ${JOBS} jobs over ${HORIZON_S} s (goal stated for 3600 s) + ${SAME_SECOND} due in one second` +
        ` (scheduled ${SAME_SECOND_LAST ? 'after all the others' : 'in due order'}), first due in ${LEAD_S} s`,
    );
    const took = await scheduleAll(walbox, queue, all);
    const late = Date.now() > t0;
    console.log(
      `  scheduled in ${(took / 1000).toFixed(1)} s (${Math.round(all.length / (took / 1000))} jobs/s)${late ? '  (past the first due time: early jobs are late by scheduling)' : ''}`,
    );
    await waitFor(queue, JOBS + SAME_SECOND, (LEAD_S + HORIZON_S + 120) * 1000);
    console.log(`  all ${JOBS} spread:      ${lateness.summary()}`);
    console.log(`  ${SAME_SECOND} in one second: ${sameSecond.summary()}`);
    console.log(`  started before run_at by the database clock: ${await dbEarly(walbox, 'ontime')}`);
  } finally {
    await d.stop();
  }
}

/** Drain rate of BURST jobs due at once, in jobs/s from the due time to the last start. */
async function burstDrain(walbox: Walbox): Promise<number> {
  const queue = walbox.jobs('burst', { partitions: PARTITIONS });
  await queue.ensure();
  const lateness = new Lateness();
  let last = 0;
  const sink = queue.sink(
    (job) => {
      lateness.note(job.runAt);
      last = Date.now();
    },
    { concurrency: 64 },
  );
  const d = walbox.dispatcher({
    sinks: { [queue.namespace]: sink },
    batchSize: BATCH,
    concurrency: CONCURRENCY,
    ...TUNING,
  });
  console.log(`\nburst: ${BURST} jobs due in the same minute, all at its first instant`);
  await d.start();
  try {
    // Scheduled with a lead long enough for every job to be parked before it falls due.
    const due = Date.now() + Math.max(20_000, BURST / 2.5);
    const jobs = Array.from({ length: BURST }, () => ({
      runAt: new Date(due),
      payload: null,
    }));
    const took = await scheduleAll(walbox, queue, jobs);
    console.log(
      `  scheduled in ${(took / 1000).toFixed(1)} s; due in ${((due - Date.now()) / 1000).toFixed(1)} s`,
    );
    await waitFor(queue, BURST, Math.max(120_000, BURST * 10));
    const rate = BURST / ((last - due) / 1000);
    console.log(
      `  drained ${BURST} in ${((last - due) / 1000).toFixed(1)} s: ${Math.round(rate)} jobs/s  ${lateness.summary()}`,
    );
    console.log(`  started before run_at by the database clock: ${await dbEarly(walbox, 'burst')}`);
    return rate;
  } finally {
    await d.stop();
  }
}

/**
 * The dispatcher's no-op throughput on the same machine: plain entries, a sink doing nothing. `delayed`: all
 * due at one instant, appended with the dispatcher running (so they are parked first, like the burst's jobs),
 * the rate counted from the due time; else a backlog due at once, counted from the dispatcher's start.
 */
async function noopThroughput(walbox: Walbox, delayed: boolean): Promise<number> {
  const name = delayed ? 'noop-delayed' : 'noop';
  await walbox.namespaces.upsert({ name, targets: [name], partitions: PARTITIONS });
  let applied = 0;
  let last = 0;
  const sink = functionSink(name, (batch: readonly Entry[]) => {
    applied += batch.length;
    last = Date.now();
  });
  const d = walbox.dispatcher({
    sinks: { [name]: sink },
    batchSize: BATCH,
    concurrency: CONCURRENCY,
    ...TUNING,
  });
  if (delayed) await d.start();
  const due = new Date(Date.now() + Math.max(20_000, NOOP / 2.5));
  for (let i = 0; i < NOOP; i += CHUNK) {
    const n = Math.min(CHUNK, NOOP - i);
    await walbox.appendMany(
      walbox.pool,
      Array.from({ length: n }, (_, k) => ({
        namespace: name,
        key: `k${i + k}`,
        op: 'upsert',
        payload: null,
        ...(delayed ? { deliverAt: due } : {}),
      })),
    );
  }
  const start = delayed ? due.getTime() : Date.now();
  if (!delayed) await d.start();
  try {
    while (applied < NOOP) await sleep(100);
  } finally {
    await d.stop();
  }
  const rate = NOOP / ((last - start) / 1000);
  console.log(
    delayed
      ? `\nno-op sink, delayed entries: ${NOOP} due at one instant (parked first) drained at ${Math.round(rate)} entries/s`
      : `\nno-op sink: ${NOOP} entries (a backlog, ${PARTITIONS} partitions) drained at ${Math.round(rate)} entries/s`,
  );
  return rate;
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
