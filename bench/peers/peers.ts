/**
 * bench:peers: walbox next to its peers on the same Postgres, one after the other in one run, with the same
 * producers, transactions and payloads (bench/support/workload.ts: ~200 bytes of JSON, keys spread over
 * 10,000): walbox (a dispatcher with a no-op sink), graphile-worker (tuned as its performance page says),
 * pg-boss 10.4.2 (batch fetch and complete), and the ceiling (bulk insert + snapshot-range read). Each system
 * gets a fresh schema, its consumer runs in a child process of its own (consumer-child.ts), and everything
 * it created is dropped afterwards. Not a test: it prints a table and the issue's goals.
 *
 *   npm run bench:peers
 *   BENCH_ENTRIES=50000  BENCH_PRODUCERS=4  BENCH_TX_ENTRIES=100   the workload
 *   BENCH_KEY_SPACE=10000  distinct keys the entries are drawn from (walbox's producers wait on each other's
 *                          key locks when their transactions share keys: see docs/benchmarks.md)
 *   BENCH_PEERS=walbox,graphile-worker,pg-boss,ceiling             which rows, in this order
 *   BENCH_ROUNDS=1       runs of the whole sequence, every other one in reverse order so that drift (a busy
 *                        machine, autovacuum) falls on both ends; the table then shows each system's median
 *                        run by entries/s, with lost, duplicate and out-of-order entries summed over all runs
 *   BENCH_PARTITIONS=8  BENCH_BATCH=400  BENCH_CONCURRENCY=8        walbox namespace and dispatcher
 *   BENCH_GW_CONCURRENCY=24  BENCH_GW_LOCAL_QUEUE=500                graphile-worker (its docs' settings)
 *   BENCH_PGBOSS_WORKERS=8  BENCH_PGBOSS_BATCH=500  BENCH_PGBOSS_POLL=0.5   pg-boss work() loops
 *   BENCH_CEILING_POLL_MS=10   the ceiling reader's sleep after an empty read
 *   BENCH_DRAIN_TIMEOUT=60     seconds to wait for the rest once the producers are done
 *   BENCH_CHILD_RUNTIME=tsx    run the consumers under tsx instead of an esbuild bundle (adds ~45 MiB RSS)
 *   BENCH_CPU_PROF=dir         run the consumers with --cpu-prof, profiles written to dir (relative to the
 *                              repository root)
 *   DATABASE_URL               else postgres://postgres@127.0.0.1:5432/test, else an embedded Postgres
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { EntryInput } from '../../src/index.js';
import { openBenchDatabase, redact } from '../support/database.js';
import { CommitLedger, wallClock } from '../support/delivery-stats.js';
import { envNumber, loadavg, machineLine, postgresVersion, revision } from '../support/environment.js';
import { fmt } from '../support/measure.js';
import { entries, transaction } from '../support/workload.js';
import { analyze, Produced } from './analysis.js';
import { BackendCpu } from './backend-cpu.js';
import { Consumer, type ConsumerCommand, consumerCommand } from './consumer.js';
import { SYSTEMS, type SystemName } from './consumer-spec.js';
import {
  type PeerSystem,
  prepareCeiling,
  prepareGraphile,
  preparePgBoss,
  prepareWalbox,
  type Tuning,
} from './systems.js';
import { medianRows, printReport, type Row, roundLine } from './table.js';

const ENTRIES = envNumber('BENCH_ENTRIES', 50_000);
const PRODUCERS = envNumber('BENCH_PRODUCERS', 4);
const TX_ENTRIES = envNumber('BENCH_TX_ENTRIES', 100);
const DRAIN_TIMEOUT_MS = envNumber('BENCH_DRAIN_TIMEOUT', 60) * 1000;
const ROUNDS = envNumber('BENCH_ROUNDS', 1);
const CPU_PROF = process.env.BENCH_CPU_PROF || undefined;
const PEERS = peerList(process.env.BENCH_PEERS);
const TUNING: Tuning = {
  walbox: {
    target: 'noop',
    partitions: envNumber('BENCH_PARTITIONS', 8),
    batchSize: envNumber('BENCH_BATCH', 400),
    concurrency: envNumber('BENCH_CONCURRENCY', 8),
  },
  graphile: {
    task: 'peer',
    concurrency: envNumber('BENCH_GW_CONCURRENCY', 24),
    localQueueSize: envNumber('BENCH_GW_LOCAL_QUEUE', 500),
  },
  pgboss: {
    queue: 'peer',
    workers: envNumber('BENCH_PGBOSS_WORKERS', 8),
    batchSize: envNumber('BENCH_PGBOSS_BATCH', 500),
    pollingIntervalSeconds: envNumber('BENCH_PGBOSS_POLL', 0.5),
  },
  ceiling: { pollMs: envNumber('BENCH_CEILING_POLL_MS', 10) },
};

function peerList(raw: string | undefined): SystemName[] {
  if (!raw) return [...SYSTEMS];
  const names = raw.split(',').map((s) => s.trim());
  for (const n of names) {
    if (!(SYSTEMS as readonly string[]).includes(n))
      throw new Error(`BENCH_PEERS: unknown ${n}; known: ${SYSTEMS}`);
  }
  return names as SystemName[];
}

interface Context {
  url: string;
  pool: pg.Pool;
  /** application_name of the producers' connections; the consumer's is this plus '-consumer'. */
  app: string;
  command: ConsumerCommand;
  run: string;
}

function prepare(ctx: Context, name: SystemName, round: number): Promise<PeerSystem> {
  const schema = `bench_peers_${ctx.run}_${round}_${name.replace('-', '_')}`;
  if (name === 'walbox') return prepareWalbox(ctx.pool, schema, TUNING);
  if (name === 'graphile-worker') return prepareGraphile(ctx.pool, schema, TUNING);
  if (name === 'pg-boss') return preparePgBoss(ctx.pool, ctx.url, schema, TUNING);
  return prepareCeiling(ctx.pool, schema);
}

/** The entries of one producer transaction, numbered from `first`; their numbers ride in the payload. */
function numbered(produced: Produced, tx: number, first: number, count: number): EntryInput[] {
  return entries('peers', tx, count).map((e, i) => {
    const n = first + i;
    produced.key[n] = Number(e.key.slice(1));
    produced.tx[n] = tx;
    produced.index[n] = i;
    return { ...e, payload: { ...(e.payload as object), n } };
  });
}

async function measure(ctx: Context, system: PeerSystem): Promise<Row> {
  const consumerApp = `${ctx.app}-consumer`;
  const consumer = new Consumer(
    {
      system: system.name,
      databaseUrl: ctx.url,
      applicationName: consumerApp,
      schema: system.schema,
      ...TUNING,
    },
    ctx.command,
    ENTRIES,
    CPU_PROF,
  );
  try {
    await consumer.ready;
    const consumerBackends = await BackendCpu.start(ctx.pool, consumerApp);
    const producerBackends = await BackendCpu.start(ctx.pool, ctx.app);
    const consumerCpu = consumer.cpuMicros();
    const ledger = new CommitLedger();
    const produced = new Produced(ENTRIES);
    const clients = await Promise.all(Array.from({ length: PRODUCERS }, () => ctx.pool.connect()));
    let next = 0;
    const from = wallClock();
    try {
      await Promise.all(
        clients.map(async (client) => {
          while (next < ENTRIES) {
            const first = next;
            const count = Math.min(TX_ENTRIES, ENTRIES - first);
            next += count;
            const tx = ledger.begin();
            const batch = numbered(produced, tx, first, count);
            await transaction(client, ledger, tx, () => system.append(client, batch));
            produced.committed += count;
          }
        }),
      );
    } finally {
      for (const c of clients) c.release();
    }
    const producedAt = wallClock();
    const drained = await consumer.waitDistinct(produced.committed, DRAIN_TIMEOUT_MS);
    const cpu = {
      consumer: consumer.cpuMicros() - consumerCpu,
      consumerBackends: await consumerBackends.used(),
      producerBackends: await producerBackends.used(),
    };
    const peakRss = await consumer.stop();
    if (CPU_PROF) console.log(`profile     ${system.name}: ${CPU_PROF}/CPU.*.${consumer.pid}.*.cpuprofile`);
    const d = analyze(consumer.arrivals, produced, ledger);
    return {
      name: system.name,
      label: system.label,
      rate: (consumer.distinct * 1000) / (consumer.lastNewAt - from),
      appendRate: (produced.committed * 1000) / (producedAt - from),
      ...d,
      cpuConsumer: cpu.consumer / consumer.distinct,
      cpuConsumerBackends: cpu.consumerBackends / consumer.distinct,
      cpuProducerBackends: cpu.producerBackends / produced.committed,
      peakRss,
      drained,
    };
  } finally {
    await consumer.stop();
  }
}

async function main() {
  process.chdir(fileURLToPath(new URL('../..', import.meta.url))); // npm runs workspace scripts in bench/peers
  const db = await openBenchDatabase();
  const run = randomBytes(4).toString('hex');
  const app = `walbox-peers-${run}`;
  const pool = new pg.Pool({
    connectionString: db.url,
    max: PRODUCERS + 2,
    idleTimeoutMillis: 0, // connections closed mid-run would take their backends' CPU with them
    application_name: app,
  });
  pool.on('error', (err) => console.error('producer pool:', err));
  pool.on('connect', (client) => client.on('error', (err) => console.error('producer client:', err)));
  const ctx: Context = { url: db.url, pool, app, command: await consumerCommand(), run };
  const rounds: Row[][] = [];
  try {
    console.log(
      `config      ${fmt.rate(ENTRIES)} entries, ${PRODUCERS} producers x ${TX_ENTRIES}-entry transactions, ~200-byte JSON payloads, keys over ${fmt.rate(Number(process.env.BENCH_KEY_SPACE ?? 10_000))}  node ${process.version}`,
    );
    console.log(`machine     ${machineLine()}`);
    console.log(`postgres    ${await postgresVersion(pool)}`);
    console.log(`code        ${revision(['src', 'sql', 'migrations', 'bench'])}`);
    console.log(`consumers   ${ctx.command.runtime}`);
    console.log(`database    ${redact(db.url)} (${db.source})  schemas bench_peers_${run}_*`);
    for (let round = 1; round <= ROUNDS; round++) {
      const rows: Row[] = [];
      for (const name of round % 2 === 1 ? PEERS : [...PEERS].reverse()) {
        const system = await prepare(ctx, name, round);
        try {
          rows.push(await measure(ctx, system));
        } catch (err) {
          console.error(`${name}: ${err instanceof Error ? err.stack : err}`);
        } finally {
          await system.cleanup();
        }
      }
      rounds.push(rows);
      if (ROUNDS > 1) console.log(roundLine(round, rows));
    }
    printReport(medianRows(rounds, PEERS), ROUNDS);
    console.log(`done        load ${loadavg()}`);
  } finally {
    await pool.end();
    await db.stop();
  }
}

await main();
