/**
 * Benchmark of delivery: producers append in this process, a dispatcher in a child process applies the
 * entries to a sink, and each scenario prints one line with its figures next to their goals. Not a test.
 * The sink rows (4) measure what the no-op throughput row (1) measures, against a real store; each needs
 * its server and prints one "skipped" line without it. What a row writes into is created for the run and
 * removed afterwards (bench/support/sink-servers.ts).
 *
 *   npm run bench:dispatch
 *   BENCH_SCENARIOS=sinks npm run bench:dispatch   the no-op throughput row and every sink row
 *   BENCH_SECONDS=20          producing time of each throughput scenario (walbox, pg-boss, sinks)
 *   BENCH_LATENCY_SECONDS=10  producing time of each paced latency run (listen, poll)
 *   BENCH_NOTIFY_SECONDS=6    per variant of the NOTIFY on/off append comparison
 *   BENCH_BACKLOG=1000000     entries appended before the backlog drain; 0 skips it. The drain is followed
 *                             by its ceiling: the same window reads of the same entries with nothing around
 *                             them (no lease, cursor, parked entries or sink), the 80% goal's reference
 *   BENCH_SCENARIOS=throughput,pgboss,latency,notify,redis,backlog   which ones to run (the default); also
 *                             the sink rows, opt-in: postgres (@walbox/sink-postgres into a database
 *                             walbox_bench_replica_<random> on the bench's server), rocksdb (a temporary
 *                             directory), memcached-invalidate (@walbox/sink-memcached, mode 'invalidate'),
 *                             nats (a JetStream stream), rabbitmq (a durable exchange and queue, consumed by
 *                             this process), redis-stream (createRedisStreamSink, MAXLEN ~ 100k); and
 *                             `sinks` for throughput plus all six. NATS and RabbitMQ publish a key's
 *                             entries one after the other, so their rows show the distinct keys per batch
 *   BENCH_PRODUCERS=4  BENCH_TX_ENTRIES=1000   batched producers and entries per transaction
 *   BENCH_KEY_SPACE=10000     distinct keys the entries are drawn from
 *   BENCH_PARTITIONS=8  BENCH_BATCH=400   BENCH_CONCURRENCY=8   namespace and dispatcher settings
 *   BENCH_RATE=2000           offered entries/s of the latency runs (single-entry transactions)
 *   BENCH_PACED_PRODUCERS=16  connections the offered load is spread over
 *   BENCH_LISTEN_OPTIONS='{"busyPollMs":50}'   JSON of dispatcher options for the listen latency run
 *   BENCH_MAX_LAG=20000       producers of the throughput scenarios pause while more entries than this are
 *                             committed but not yet applied, so that they measure the rate the consumer
 *                             sustains, with a bounded queue, instead of a backlog growing for the whole run
 *   BENCH_DRAIN_TIMEOUT=30    seconds to wait for the rest after producers stop
 *   BENCH_CPU_PROF=dir        run the children with --cpu-prof, profiles written to dir
 *   BENCH_CHILD_NODE_FLAGS    extra node flags for the children, e.g. "--max-semi-space-size=4"
 *   BENCH_QUERY_STATS=1       after each walbox scenario, list the statements the dispatcher ran per batch
 *   BENCH_CHILD_RUNTIME=tsx   run the children under tsx instead of an esbuild bundle (adds ~45 MiB RSS)
 *   DATABASE_URL              else postgres://postgres@127.0.0.1:5432/test, else an embedded Postgres
 *   REDIS_URL                 else 127.0.0.1:6379 if it answers PING, else a redis-server on a free port
 *   MEMCACHED_SERVERS         else 127.0.0.1:11211 if it answers, else a memcached on a free port
 *   NATS_URL                  else nats://127.0.0.1:4222 (with JetStream)
 *   RABBITMQ_URL              else amqp://guest:guest@127.0.0.1:5672
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import PgBoss from 'pg-boss';
import { bossSchema } from '../src/dispatch/drain-queue.js';
import { Walbox } from '../src/index.js';
import { BenchChild, type ChildSpec } from './support/bench-child.js';
import { type ChildCommand, childCommand } from './support/child-bundle.js';
import { BENCH_APPLICATION, CpuMeter } from './support/cpu.js';
import { openBenchDatabase, redact } from './support/database.js';
import { CommitLedger, summarize, wallClock } from './support/delivery-stats.js';
import { envNumber, loadavg, machineLine, postgresVersion, revision } from './support/environment.js';
import { alternate, fmt, type PhaseResult, percentile, perSecond, runPhase } from './support/measure.js';
import { type BenchRedis, openBenchRedis, removeKeys } from './support/redis.js';
import { cpuText, latencyText, mib, ms, queryStatsLines, us, verdict, waitedText } from './support/report.js';
import {
  codePaths,
  PER_KEY_SINKS,
  SINK_SCENARIOS,
  type SinkRun,
  type SinkScenario,
  scenarioSet,
  withSink,
} from './support/sink-servers.js';
import type { SinkSettings } from './support/sinks.js';
import { entries, type Produced, produceBatches, producePaced } from './support/workload.js';

const SECONDS = envNumber('BENCH_SECONDS', 20);
const LATENCY_SECONDS = envNumber('BENCH_LATENCY_SECONDS', 10);
const NOTIFY_SECONDS = envNumber('BENCH_NOTIFY_SECONDS', 6);
const BACKLOG = envNumber('BENCH_BACKLOG', 1_000_000, { allowZero: true });
const PRODUCERS = envNumber('BENCH_PRODUCERS', 4);
const TX_ENTRIES = envNumber('BENCH_TX_ENTRIES', 1000);
const PARTITIONS = envNumber('BENCH_PARTITIONS', 8);
const BATCH = envNumber('BENCH_BATCH', 400);
const CONCURRENCY = envNumber('BENCH_CONCURRENCY', 8);
const RATE = envNumber('BENCH_RATE', 2000);
const MAX_LAG = envNumber('BENCH_MAX_LAG', 20_000);
const DRAIN_TIMEOUT_MS = envNumber('BENCH_DRAIN_TIMEOUT', 30) * 1000;
const CPU_PROF = process.env.BENCH_CPU_PROF || undefined;
const QUERY_STATS = process.env.BENCH_QUERY_STATS === '1';
const CHILD_NODE_FLAGS = (process.env.BENCH_CHILD_NODE_FLAGS ?? '').split(' ').filter(Boolean);
const DEFAULT_SCENARIOS = ['throughput', 'pgboss', 'latency', 'notify', 'redis', 'backlog'];
const SCENARIOS = scenarioSet(process.env.BENCH_SCENARIOS ?? DEFAULT_SCENARIOS.join(','), DEFAULT_SCENARIOS);
const PACED_PRODUCERS = envNumber('BENCH_PACED_PRODUCERS', 16);
/** Dispatcher options of the listen latency run, to try a setting against the defaults. */
const LISTEN_OPTIONS = JSON.parse(process.env.BENCH_LISTEN_OPTIONS ?? '{}') as Record<string, unknown>;
const WARMUP_MS = 1000;
const NOTIFY_PRODUCERS = 16;
const POLL_MS = 100;
const GOAL = { throughput: 50_000, ratio: 3, p99: 100, rssMiB: 200, ofBacklogCeiling: 0.8 };

interface Context {
  url: string;
  schema: string;
  pool: pg.Pool;
  walbox: Walbox;
  command: ChildCommand;
  redis: BenchRedis | undefined;
  children: Set<BenchChild>;
}

async function startChild(ctx: Context, spec: Partial<ChildSpec>, wait = true): Promise<BenchChild> {
  const child = new BenchChild(
    {
      mode: 'walbox',
      databaseUrl: ctx.url,
      poolSize: CONCURRENCY + 6,
      schema: ctx.schema,
      target: 'noop',
      sink: { kind: 'noop' },
      batchSize: BATCH,
      concurrency: CONCURRENCY,
      queryStats: QUERY_STATS,
      ...spec,
      dispatcher: { batchSize: BATCH, concurrency: CONCURRENCY, ...spec.dispatcher },
    },
    ctx.command,
    { cpuProfDir: CPU_PROF, nodeFlags: CHILD_NODE_FLAGS },
  );
  ctx.children.add(child);
  if (wait) await child.ready;
  return child;
}

/** The settings every batched-producer scenario shares. */
function producing(ctx: Context, child: BenchChild, namespace: string) {
  return {
    pool: ctx.pool,
    child,
    producers: PRODUCERS,
    txEntries: TX_ENTRIES,
    seconds: SECONDS,
    maxLag: MAX_LAG,
    namespace,
  };
}

async function stopChild(ctx: Context, child: BenchChild): Promise<number> {
  const peak = await child.stop();
  ctx.children.delete(child);
  if (QUERY_STATS) for (const line of queryStatsLines(child)) console.log(line);
  return peak;
}

/** Waits for the rest, stops the child, and summarizes the producing window. */
async function finish(ctx: Context, child: BenchChild, p: Produced) {
  const drained = await child.waitDelivered(p.appended, DRAIN_TIMEOUT_MS);
  const used = await p.meter.read();
  const peakRss = await stopChild(ctx, child);
  const s = summarize(child.applied, p.ledger, p.from, p.to);
  const appendedRate = (p.appended * 1000) / (p.to - p.from);
  const left = drained
    ? ''
    : `  UNDELIVERED ${fmt.rate(p.appended - s.total)} after ${DRAIN_TIMEOUT_MS / 1000} s`;
  const cpu = {
    producers: used.producers / p.appended,
    pgProducers: used.pgProducers / p.appended,
    pgConsumer: used.pgConsumer / p.appended,
    consumer: cpuPerEntry(child),
  };
  const batch = child.delivered / child.batches;
  const keys = child.keys / child.batches;
  const rtt = p.ledger.commitRttMedian();
  return { s, peakRss, appendedRate, left, rtt, cpu, waited: p.waited, batch, keys };
}

/** The child's CPU time from ready to stopped, per entry it delivered: its cost, whatever the machine's load. */
function cpuPerEntry(child: BenchChild): number {
  return (child.cpuAtStop - child.cpuAtReady) / child.delivered;
}

/**
 * Batched producers against a dispatcher applying to `sink`. The no-op and Redis rows print the throughput
 * goal; a sink row (`row`) prints its rate against the no-op row's and where it wrote.
 */
async function walboxThroughput(
  ctx: Context,
  label: string,
  name: string,
  sink: SinkSettings,
  row?: { noopRate: number | undefined; keys: boolean; where: string },
) {
  const namespace = `tp-${name}`;
  const target = `${name}-tp`;
  await ctx.walbox.namespaces.upsert({ name: namespace, partitions: PARTITIONS, targets: [target] });
  const child = await startChild(ctx, { target, sink });
  const p = await produceBatches({
    ...producing(ctx, child, namespace),
    append: (client, b) => ctx.walbox.appendMany(client, b),
  });
  const r = await finish(ctx, child, p);
  const versus = !row
    ? ` (goal >= ${fmt.rate(GOAL.throughput)}: ${verdict(r.s.rate >= GOAL.throughput)})`
    : row.noopRate === undefined
      ? ''
      : ` (${fmt.ratio(r.s.rate / row.noopRate)}x the no-op row)`;
  const keys = row?.keys ? `, ${r.keys.toFixed(0)} keys` : '';
  console.log(
    `${label}walbox ${fmt.rate(r.s.rate)} entries/s${versus}  ${latencyText(r)}  appended ${fmt.rate(r.appendedRate)}/s${waitedText(r)}  batches of ${r.batch.toFixed(0)} avg${keys}  dispatcher rss peak ${mib(r.peakRss)}  ${cpuText(r.cpu)}${r.left}${row ? ` | ${row.where}` : ''}`,
  );
  return { rate: r.s.rate, saturated: r.waited > 0.02 };
}

/** A sink row: the sink's server prepared for this run (sink-servers.ts), measured as the no-op row is. */
function sinkThroughput(
  ctx: Context,
  name: SinkScenario,
  noopRate: number | undefined,
  redis: SinkRun['redis'],
) {
  const run = { databaseUrl: ctx.url, pool: ctx.pool, schema: ctx.schema, concurrency: CONCURRENCY, redis };
  // The namespace as walboxThroughput names it.
  return withSink(name, { ...run, namespace: `tp-${name}` }, async (label, sink) => {
    try {
      const row = { noopRate, keys: PER_KEY_SINKS.has(name), where: sink.where };
      await walboxThroughput(ctx, label, name, sink.settings, row);
    } finally {
      for (const child of ctx.children) await stopChild(ctx, child).catch(() => {}); // before the cleanup
    }
  });
}

async function pgbossBaseline(ctx: Context, walbox: { rate: number; saturated: boolean } | undefined) {
  const schema = `${ctx.schema}_pgb`;
  const queue = 'bench';
  const boss = new PgBoss({
    connectionString: ctx.url,
    schema,
    max: PRODUCERS + 2,
    supervise: false,
    schedule: false,
  });
  boss.on('error', (err) => console.error('pg-boss producer:', err));
  await boss.start();
  try {
    await boss.createQueue(queue, { name: queue, policy: 'standard' });
    // As many workers as the dispatcher has drains: CONCURRENCY work() loops fetching up to BATCH jobs.
    // A work() loop sleeps out the rest of its polling interval after each fetch that took less, full or
    // not; 0.5 s is pg-boss's minimum, which caps it at 2 * BATCH jobs/s per loop.
    const child = await startChild(ctx, {
      mode: 'pgboss',
      bossSchema: schema,
      queue,
      pollingIntervalSeconds: 0.5,
    });
    const p = await produceBatches({
      ...producing(ctx, child, 'none'),
      append: (client, b) =>
        boss.insert(
          b.map((e) => ({ name: queue, data: { key: e.key, ...(e.payload as object) } })),
          // In the producer's transaction, as an outbox producer would send jobs.
          { db: { executeSql: (text, values) => client.query(text, values) } },
        ),
    });
    const r = await finish(ctx, child, p);
    const ratio = walbox === undefined ? undefined : walbox.rate / r.s.rate;
    // When walbox kept up with its producers, its figure is what they offered, not what it could take.
    const bound = walbox && !walbox.saturated && r.waited > 0.02 ? ', a lower bound: walbox kept up' : '';
    console.log(
      `2 baseline    pg-boss 10.4.2 ${fmt.rate(r.s.rate)} jobs/s  ${latencyText(r)}  inserted ${fmt.rate(r.appendedRate)}/s${waitedText(r)}  batches of ${r.batch.toFixed(0)} avg  worker rss peak ${mib(r.peakRss)}  ${cpuText(r.cpu, 'worker')}${r.left} | walbox/pg-boss ${ratio === undefined ? 'n/a (throughput not run)' : `${ratio.toFixed(1)}x (goal >= ${GOAL.ratio}x: ${verdict(ratio >= GOAL.ratio)}${bound})`}`,
    );
  } finally {
    await boss.stop({ graceful: false, wait: true }).catch(() => {});
  }
}

/**
 * Single-entry transactions (BEGIN; append; COMMIT), RATE per second in total, paced over PACED_PRODUCERS
 * connections. The first WARMUP_MS are not measured: the first wake-ups start the partition drains.
 */
async function paced(ctx: Context, wakeup: 'listen' | 'poll') {
  const namespace = `lat-${wakeup}`;
  const target = `noop-${wakeup}`;
  await ctx.walbox.namespaces.upsert({ name: namespace, partitions: PARTITIONS, targets: [target] });
  const child = await startChild(ctx, {
    target,
    dispatcher: wakeup === 'poll' ? { wakeup, pollIntervalMs: POLL_MS } : { ...LISTEN_OPTIONS, wakeup },
  });
  const clients = await Promise.all(Array.from({ length: PACED_PRODUCERS }, () => ctx.pool.connect()));
  // Poll mode is for sessions that cannot or should not NOTIFY; such producers turn it off.
  if (wakeup === 'poll') await Promise.all(clients.map((c) => c.query(`set walbox.notify = 'off'`)));
  try {
    const p = await producePaced({
      pool: ctx.pool,
      clients,
      rate: RATE,
      warmupMs: WARMUP_MS,
      seconds: LATENCY_SECONDS,
      namespace,
      append: (client, entry) => ctx.walbox.append(client, entry),
    });
    return { ...(await finish(ctx, child, p)), achieved: p.achieved };
  } finally {
    for (const c of clients) {
      await c.query('reset walbox.notify');
      c.release();
    }
  }
}

async function latency(ctx: Context) {
  const listen = await paced(ctx, 'listen');
  const poll = await paced(ctx, 'poll');
  const achieved = (r: { achieved: number }) =>
    `achieved ${fmt.rate(r.achieved)}/s${r.achieved < RATE * 0.95 ? ' = OFFERED LOAD NOT REACHED' : ''}`;
  console.log(
    `3 latency     ${fmt.rate(RATE)}/s offered as 1-entry transactions by ${PACED_PRODUCERS} producers | listen: ${achieved(listen)}  ${latencyText(listen)} (goal p99 < ${GOAL.p99} ms: ${verdict(listen.s.p99 < GOAL.p99)}) max ${ms(listen.s.max)}  rss peak ${mib(listen.peakRss)}  ${cpuText(listen.cpu)}${listen.left} | poll ${POLL_MS} ms, producers walbox.notify=off: ${achieved(poll)}  ${latencyText(poll)} max ${ms(poll.s.max)}  rss peak ${mib(poll.peakRss)}  ${cpuText(poll.cpu)}${poll.left}`,
  );
}

/**
 * Single-entry append transactions at NOTIFY_PRODUCERS connections: NOTIFY on (no drain is busy, so appends
 * notify) against walbox.notify=off, and the floor: a plain INSERT of the same row into the log, autocommit.
 */
async function notifyCost(ctx: Context) {
  await ctx.walbox.namespaces.upsert({ name: 'notify', partitions: PARTITIONS, targets: ['none'] });
  // A listening session, as a dispatcher would have: notifications are then queued and read.
  const listener = new pg.Client({ connectionString: ctx.url });
  await listener.connect();
  await listener.query(`listen "${ctx.walbox.channel}"`);
  const clients = await Promise.all(Array.from({ length: NOTIFY_PRODUCERS }, () => ctx.pool.connect()));
  const append = (client: pg.PoolClient) =>
    ctx.walbox.append(client, entries('notify', 0, 1)[0]!).then(() => 1);
  const insert = (client: pg.PoolClient) => {
    const e = entries('notify', 0, 1)[0]!;
    return client
      .query(
        `insert into ${ctx.walbox.schema}.entries (namespace, key, partition, op, payload, targets)
         values ('notify', $1, 0, $2, $3, '{none}')`,
        [e.key, e.op, JSON.stringify(e.payload)],
      )
      .then(() => 1);
  };
  const phase = (off: boolean) => async (s: number) => {
    await Promise.all(clients.map((c) => c.query(off ? `set walbox.notify = 'off'` : 'reset walbox.notify')));
    return runPhase(clients, s, append);
  };
  try {
    await runPhase(clients, 0.5, append);
    const r = await alternate(
      { on: phase(false), off: phase(true), floor: (s: number) => runPhase(clients, s, insert) },
      NOTIFY_SECONDS,
      4,
    );
    const line = (p: PhaseResult) =>
      `${fmt.rate(perSecond(p, 'ops'))} tx/s p50 ${ms(percentile(p, 0.5))} p99 ${ms(percentile(p, 0.99))}`;
    console.log(
      `3 append      ${NOTIFY_PRODUCERS} producers, 1-entry autocommit appends: NOTIFY on ${line(r.on)} | walbox.notify=off ${line(r.off)} | off/on ${fmt.ratio(perSecond(r.off, 'ops') / perSecond(r.on, 'ops'))}x | floor: plain INSERT of the row ${line(r.floor)} (reference, no goal)`,
    );
  } finally {
    for (const c of clients) {
      await c.query('reset walbox.notify').catch(() => {});
      c.release();
    }
    await listener.end();
  }
}

async function backlog(ctx: Context) {
  const namespace = 'backlog';
  const target = 'noop-backlog';
  await ctx.walbox.namespaces.upsert({ name: namespace, partitions: PARTITIONS, targets: [target] });
  const clients = await Promise.all(Array.from({ length: PRODUCERS }, () => ctx.pool.connect()));
  let appended = 0;
  // The ceiling reads what transactions this snapshot did not see wrote, as a dispatcher's first window would.
  const since = (await ctx.pool.query<{ s: string }>('select pg_current_snapshot()::text as s')).rows[0]!.s;
  const appendMeter = await CpuMeter.start(ctx.pool);
  const t0 = wallClock();
  try {
    await Promise.all(
      clients.map(async (client) => {
        await client.query(`set walbox.notify = 'off'`); // nobody listens yet
        while (appended < BACKLOG) {
          const n = Math.min(TX_ENTRIES, BACKLOG - appended);
          appended += n;
          await ctx.walbox.appendMany(client, entries(namespace, 0, n));
        }
        await client.query('reset walbox.notify');
      }),
    );
  } finally {
    for (const c of clients) c.release();
  }
  const appendRate = (BACKLOG * 1000) / (wallClock() - t0);
  const appendCpu = await appendMeter.read();
  await ctx.pool.query(`analyze "${ctx.schema}".entries`); // as autovacuum would soon after such a load
  const meter = await CpuMeter.start(ctx.pool);
  const child = await startChild(ctx, { target }, false);
  const timeout = Math.max(DRAIN_TIMEOUT_MS, BACKLOG / 2); // at least 2,000 entries/s
  const drained = await child.waitDelivered(BACKLOG, timeout);
  const used = await meter.read();
  const peakRss = await stopChild(ctx, child);
  const s = summarize(child.applied, new CommitLedger(), 0, Number.MAX_SAFE_INTEGER);
  const spawnToDone = (s.lastAt - child.spawnedAt) / 1000;
  const readyToDone = (s.lastAt - child.readyAt) / 1000;
  const rate = s.total / readyToDone;
  const ceiling = await backlogCeiling(ctx, namespace, since, timeout);
  const share = rate / ceiling.rate;
  console.log(
    `5 backlog     ${fmt.rate(BACKLOG)} entries appended at ${fmt.rate(appendRate)}/s (dispatcher stopped; cpu µs/entry: producers ${us(appendCpu.producers / BACKLOG)} + their backends ${us(appendCpu.pgProducers / BACKLOG)}) drained in ${spawnToDone.toFixed(1)} s from spawn, ${readyToDone.toFixed(1)} s from ready = ${fmt.rate(rate)} entries/s | dispatcher rss peak ${mib(peakRss)} (goal < ${GOAL.rssMiB} MiB: ${verdict(peakRss < GOAL.rssMiB * 2 ** 20)}), at start ${mib(child.readyRss)}, V8 heap peak ${mib(child.memory?.heapTotal ?? Number.NaN)} (used ${mib(child.memory?.heapUsed ?? Number.NaN)})  cpu µs/entry: dispatcher ${us(cpuPerEntry(child))} + its backends ${us(used.pgConsumer / BACKLOG)}${drained ? '' : `  UNDELIVERED ${fmt.rate(BACKLOG - s.total)}`} | ceiling (the same window reads, nothing around them): ${fmt.rate(ceiling.rate)} entries/s  cpu µs/entry: reader ${us(ceiling.cpu)} + its backends ${us(ceiling.pgCpu)}${ceiling.drained ? '' : '  INCOMPLETE'} | walbox/ceiling ${(share * 100).toFixed(0)}% (goal >= ${GOAL.ofBacklogCeiling * 100}%: ${verdict(share >= GOAL.ofBacklogCeiling)})`,
  );
}

/**
 * The backlog's ceiling in the same run: the dispatcher's window read of the same entries on as many
 * connections, with no lease, cursor, parked entries or sink (dispatch-child.ts, startCeiling). It runs
 * after the dispatcher, on the same data, as warm in the caches as the dispatcher left it.
 */
async function backlogCeiling(ctx: Context, namespace: string, since: string, timeout: number) {
  const meter = await CpuMeter.start(ctx.pool);
  const child = await startChild(
    ctx,
    { mode: 'ceiling', ceiling: { namespace, partitions: PARTITIONS, since } },
    false,
  );
  const drained = await child.waitDelivered(BACKLOG, timeout);
  const used = await meter.read();
  await stopChild(ctx, child);
  const s = summarize(child.applied, new CommitLedger(), 0, Number.MAX_SAFE_INTEGER);
  return {
    rate: s.total / ((s.lastAt - child.readyAt) / 1000),
    cpu: cpuPerEntry(child),
    pgCpu: used.pgConsumer / BACKLOG,
    drained,
  };
}

async function main() {
  const db = await openBenchDatabase();
  const schema = `bench_dispatch_${randomBytes(4).toString('hex')}`;
  const pool = new pg.Pool({
    connectionString: db.url,
    max: NOTIFY_PRODUCERS + PRODUCERS + 4,
    idleTimeoutMillis: 0, // see cpu.ts
    application_name: BENCH_APPLICATION,
  });
  const walbox = new Walbox({ pool, schema });
  const ctx: Context = {
    url: db.url,
    schema,
    pool,
    walbox,
    command: await childCommand(),
    redis: undefined,
    children: new Set(),
  };
  let redisNote = 'not needed';
  try {
    console.log(
      `config      BENCH_SECONDS=${SECONDS} BENCH_LATENCY_SECONDS=${LATENCY_SECONDS} BENCH_BACKLOG=${BACKLOG} producers=${PRODUCERS}x${TX_ENTRIES} entries/tx partitions=${PARTITIONS} batchSize=${BATCH} concurrency=${CONCURRENCY} maxLag=${MAX_LAG}  node ${process.version}`,
    );
    console.log(`machine     ${machineLine()}`);
    console.log(`postgres    ${await postgresVersion(pool)}`);
    console.log(`code        ${revision(codePaths(SCENARIOS))}`);
    console.log(`children    ${ctx.command.runtime}`);
    if (SCENARIOS.has('redis') || SCENARIOS.has('redis-stream')) {
      const r = await openBenchRedis();
      if ('skipped' in r) redisNote = `unavailable: ${r.skipped}`;
      else {
        ctx.redis = r;
        redisNote = `${r.url} (${r.source})`;
      }
    }
    console.log(`database    ${redact(db.url)} (${db.source})  schema ${schema}  redis ${redisNote}`);
    await walbox.migrate();

    let walboxRate: { rate: number; saturated: boolean } | undefined;
    if (SCENARIOS.has('throughput')) {
      walboxRate = await walboxThroughput(ctx, '1 throughput  ', 'noop', { kind: 'noop' });
    }
    if (SCENARIOS.has('pgboss')) await pgbossBaseline(ctx, walboxRate);
    if (SCENARIOS.has('latency')) await latency(ctx);
    if (SCENARIOS.has('notify')) await notifyCost(ctx);
    if (SCENARIOS.has('redis') && ctx.redis) {
      const sink = { kind: 'redis', url: ctx.redis.url, keyPrefix: `walbox-bench:${schema}:` } as const;
      await walboxThroughput(ctx, '4 redis sink  ', 'redis', sink);
    } else if (SCENARIOS.has('redis')) console.log(`4 redis sink  skipped: Redis ${redisNote}`);
    const redis = ctx.redis ?? { skipped: redisNote };
    for (const name of SINK_SCENARIOS.filter((n) => SCENARIOS.has(n))) {
      await sinkThroughput(ctx, name, walboxRate?.rate, redis);
    }
    if (SCENARIOS.has('backlog') && BACKLOG > 0) await backlog(ctx);
    console.log(`done        load ${loadavg()}`);
  } finally {
    for (const child of ctx.children) await child.stop().catch(() => {});
    await walbox.close();
    for (const s of [schema, bossSchema(schema), `${schema}_pgb`]) {
      await pool.query(`drop schema if exists "${s}" cascade`).catch((err) => console.error('cleanup:', err));
    }
    await pool.end();
    await cleanRedis(ctx).catch((err) => console.error('redis cleanup:', err));
    await db.stop();
  }
}

/** A shared Redis keeps nothing of this run; a spawned one is just stopped. */
async function cleanRedis(ctx: Context) {
  if (!ctx.redis) return;
  if (ctx.redis.source !== 'spawned') await removeKeys(ctx.redis.url, `walbox-bench:${ctx.schema}:*`);
  await ctx.redis.stop();
}

await main();
