// The consuming side of bench/peers, one system per process so that its CPU and memory are its own: a walbox
// dispatcher with a no-op sink, graphile-worker, pg-boss workers, or the ceiling's snapshot-range reader.
// Started by consumer.ts with an IPC channel and its ConsumerSpec as JSON in PEERS_CONSUMER. Each handler
// notes the entry numbers it was given and when; they go to the parent every FLUSH_MS (consumer-spec.ts).
// Stops on { type: 'stop' } or when the parent goes away.
import { Logger, run } from 'graphile-worker';
import pg from 'pg';
import PgBoss from 'pg-boss';
import { functionSink, Walbox } from '../../src/index.js';
import type { ConsumerMessage, ConsumerSpec, NumberedPayload } from './consumer-spec.js';

const FLUSH_MS = 50;
const spec = JSON.parse(process.env.PEERS_CONSUMER ?? 'null') as ConsumerSpec | null;
if (!spec || !process.send) throw new Error('consumer-child: run through bench/peers/consumer.ts');
const send = (msg: ConsumerMessage) => {
  if (process.connected) process.send?.(msg);
};
const now = () => performance.timeOrigin + performance.now();

let pending: number[] = [];
function record(payloads: readonly unknown[]): void {
  pending.push(now(), payloads.length);
  for (const p of payloads) pending.push((p as NumberedPayload).n);
}
function flush(): void {
  if (pending.length === 0) return;
  send({ type: 'applied', data: pending });
  pending = [];
}
const flusher = setInterval(flush, FLUSH_MS);

/** Connections stay open (idleTimeoutMillis 0) so that the parent can read their backends' CPU. */
function openPool(s: ConsumerSpec, max: number): pg.Pool {
  const pool = new pg.Pool({
    connectionString: s.databaseUrl,
    max,
    idleTimeoutMillis: 0,
    application_name: s.applicationName,
  });
  // Idle clients report through the pool's listener, checked-out ones through their own.
  pool.on('error', (err) => process.stderr.write(`consumer pool: ${err}\n`));
  pool.on('connect', (client) =>
    client.on('error', (err) => process.stderr.write(`consumer client: ${err}\n`)),
  );
  return pool;
}

async function startWalbox(s: ConsumerSpec): Promise<() => Promise<void>> {
  const pool = openPool(s, s.walbox.concurrency + 6);
  const walbox = new Walbox({ pool, schema: s.schema });
  const sink = functionSink(s.walbox.target, (batch) => record(batch.map((e) => e.payload)));
  const dispatcher = walbox.dispatcher({
    sinks: { [s.walbox.target]: sink },
    batchSize: s.walbox.batchSize,
    concurrency: s.walbox.concurrency,
  });
  dispatcher.on('error', (err) => process.stderr.write(`dispatcher: ${err.stack ?? err}\n`));
  await dispatcher.start();
  return async () => {
    await dispatcher.stop();
    await walbox.close();
    await pool.end();
  };
}

/** Tuned as graphile-worker's performance page recommends: a local queue and batched completion. */
async function startGraphile(s: ConsumerSpec): Promise<() => Promise<void>> {
  const g = s.graphile;
  const pool = openPool(s, g.concurrency + 4);
  const logger = new Logger(() => (level, message) => {
    if (level === 'error' || level === 'warning')
      process.stderr.write(`graphile-worker ${level}: ${message}\n`);
  });
  const runner = await run({
    pgPool: pool,
    schema: s.schema,
    concurrency: g.concurrency,
    noHandleSignals: true,
    logger,
    taskList: { [g.task]: async (payload) => record([payload]) },
    preset: {
      worker: { localQueue: { size: g.localQueueSize }, completeJobBatchDelay: 0, failJobBatchDelay: 0 },
    },
  });
  return async () => {
    await runner.stop();
    await pool.end();
  };
}

/** pg-boss 10: `workers` work() loops, each fetching up to batchSize jobs and completing them together. */
async function startPgBoss(s: ConsumerSpec): Promise<() => Promise<void>> {
  const b = s.pgboss;
  // pg-boss's own pool would close idle connections (and lose their backends' CPU); it runs on this one.
  const pool = openPool(s, b.workers + 2);
  const boss = new PgBoss({
    db: { executeSql: (text, values) => pool.query(text, values) },
    schema: s.schema,
    supervise: false,
    schedule: false,
  });
  boss.on('error', (err) => process.stderr.write(`pg-boss: ${err.stack ?? err}\n`));
  await boss.start();
  const options = { batchSize: b.batchSize, pollingIntervalSeconds: b.pollingIntervalSeconds };
  for (let i = 0; i < b.workers; i++) {
    await boss.work<unknown>(b.queue, options, async (jobs) => record(jobs.map((j) => j.data)));
  }
  return async () => {
    await boss.stop({ graceful: true, wait: true, timeout: 10_000 });
    await pool.end();
  };
}

/**
 * The ceiling: what the snapshot technique delivers with nothing around it (docs/ordering.md). Each round
 * takes a snapshot in a statement of its own, then reads every row whose writer is visible in it and was
 * not in the previous one, in id order; it sleeps pollMs after a round that found nothing.
 */
async function startCeiling(s: ConsumerSpec): Promise<() => Promise<void>> {
  const client = new pg.Client({ connectionString: s.databaseUrl, application_name: s.applicationName });
  client.on('error', (err) => process.stderr.write(`ceiling reader: ${err}\n`));
  await client.connect();
  const table = `"${s.schema}".entries`;
  const snapshot = async () =>
    (await client.query<{ s: string }>('select pg_current_snapshot()::text as s')).rows[0]!.s;
  let prev = await snapshot();
  let stopping = false;
  const loop = (async () => {
    while (!stopping) {
      const cur = await snapshot();
      const { rows } = await client.query<{ payload: NumberedPayload }>(
        `select payload from ${table}
          where (xid >= pg_snapshot_xmax($1::pg_snapshot) or xid in (select pg_snapshot_xip($1::pg_snapshot)))
            and pg_visible_in_snapshot(xid, $2::pg_snapshot)
          order by id`,
        [prev, cur],
      );
      prev = cur;
      if (rows.length > 0) record(rows.map((r) => r.payload));
      else await new Promise((r) => setTimeout(r, s.ceiling.pollMs));
    }
  })();
  loop.catch((err) => {
    process.stderr.write(`ceiling reader: ${err}\n`);
    process.exit(1);
  });
  return async () => {
    stopping = true;
    await loop;
    await client.end();
  };
}

const starters = {
  walbox: startWalbox,
  'graphile-worker': startGraphile,
  'pg-boss': startPgBoss,
  ceiling: startCeiling,
} as const;
const stop = await starters[spec.system](spec);
send({ type: 'ready' });

let stopping: Promise<void> | undefined;
function shutdown(code: number): Promise<void> {
  stopping ??= (async () => {
    try {
      await stop();
    } catch (err) {
      process.stderr.write(`consumer-child stop: ${err}\n`);
      code = 1;
    }
    clearInterval(flusher);
    flush();
    send({ type: 'stopped' });
    if (process.connected) process.disconnect();
    process.exitCode = code;
    setTimeout(() => process.exit(code), 2000).unref();
  })();
  return stopping;
}
process.on('message', (msg: { type?: string }) => {
  if (msg?.type === 'stop') void shutdown(0);
});
process.on('disconnect', () => void shutdown(1));
