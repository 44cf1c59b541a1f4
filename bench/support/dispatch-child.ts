// The consuming side of bench/dispatch.ts, in a process of its own so that its memory is measured alone:
// either a walbox dispatcher (a no-op sink or one of sinks.ts), a plain pg-boss worker (the baseline), or the
// backlog's ceiling (startCeiling).
// Started by bench/support/bench-child.ts (bundled by child-bundle.ts, or under tsx) with an IPC channel and
// its settings as JSON in BENCH_CHILD (ChildSpec). Reports over IPC:
//   { type: 'ready', rss, cpu }                  once the dispatcher / workers run (cpu: µs used so far)
//   { type: 'applied', data: [at, tx, n, ...] }  every FLUSH_MS: n entries of producer transaction `tx`
//                                                 reached the sink at `at` (epoch ms, sub-ms precision)
//   { type: 'stopped', peakRss, peak, cpu, batches, keys, queries }
//                                                after a graceful stop, then exits (peak: memoryUsage peaks;
//                                                keys: distinct keys summed over batches, sinks other than
//                                                no-op; queries: [text, count, ms] when spec.queryStats)
// Stops on { type: 'stop' } or when the parent goes away (IPC disconnect).
import pg from 'pg';
import PgBoss from 'pg-boss';
import { type Entry, functionSink, type Sink, Walbox } from '../../src/index.js';
import { windowSql } from '../../src/snapshot-reader.js';
import type { ChildSpec } from './bench-child.js';
import { BENCH_APPLICATION } from './cpu.js';
import { createBenchSink } from './sinks.js';

const FLUSH_MS = 50;
const spec = JSON.parse(process.env.BENCH_CHILD ?? 'null') as ChildSpec | null;
if (!spec || !process.send) throw new Error('dispatch-child: run through bench/support/bench-child.ts');
const send = (msg: unknown) => {
  if (process.connected) process.send?.(msg);
};
/** Wall-clock ms with sub-ms precision; the parent uses the same clock for commit times. */
const now = () => performance.timeOrigin + performance.now();

let pending: number[] = [];
let batches = 0;
/** Entries of one batch grouped by the transaction that appended them (in the payload as `tx`). */
function record(payloads: Iterable<unknown>): void {
  const at = now();
  batches++;
  const byTx = new Map<number, number>();
  for (const p of payloads) {
    const tx = (p as { tx?: number } | null)?.tx ?? -1;
    byTx.set(tx, (byTx.get(tx) ?? 0) + 1);
  }
  for (const [tx, n] of byTx) pending.push(at, tx, n);
}
function flush(): void {
  if (pending.length === 0) return;
  send({ type: 'applied', data: pending });
  pending = [];
}
const flusher = setInterval(flush, FLUSH_MS);

/** Peaks of process.memoryUsage() fields, sampled: where the resident memory goes. */
const peak = { rss: 0, heapTotal: 0, heapUsed: 0, external: 0 };
function sample(): void {
  const m = process.memoryUsage();
  peak.rss = Math.max(peak.rss, m.rss);
  peak.heapTotal = Math.max(peak.heapTotal, m.heapTotal);
  peak.heapUsed = Math.max(peak.heapUsed, m.heapUsed);
  peak.external = Math.max(peak.external, m.external);
}
sample();
const sampler = setInterval(sample, 50);

const payloads = (batch: readonly Entry[]) => batch.map((e) => e.payload);

/** Distinct keys of the batches a measured sink applied: a bus sink publishes a key's entries in turn. */
let keys = 0;

/**
 * `sink`, its entries recorded as applied once `apply` returns (the store answered), except those it
 * returned as failed (the dispatcher retries them; they are recorded when they go through).
 */
function measured(sink: Sink): Sink {
  return {
    name: sink.name,
    async apply(batch, ctx) {
      const result = await sink.apply(batch, ctx);
      const failed = new Set(result?.failed?.map((f) => f.id));
      record(payloads(failed.size === 0 ? batch : batch.filter((e) => !failed.has(e.id))));
      keys += new Set(batch.map((e) => e.key)).size;
      return result;
    },
    close: () => sink.close?.() ?? Promise.resolve(),
  };
}

/** Per statement (its first 80 characters): how often the pool ran it, and the ms until it returned. */
const queryStats = new Map<string, { n: number; ms: number }>();
function countQueries(pool: pg.Pool): void {
  const query = pool.query.bind(pool) as (...args: unknown[]) => Promise<unknown>;
  (pool as unknown as { query: typeof query }).query = async (...args: unknown[]) => {
    const text = typeof args[0] === 'string' ? args[0] : ((args[0] as { text?: string }).text ?? '?');
    const key = text.replace(/\s+/g, ' ').trim().slice(0, 80);
    const t = performance.now();
    try {
      return await query(...args);
    } finally {
      const q = queryStats.get(key) ?? { n: 0, ms: 0 };
      q.n++;
      q.ms += performance.now() - t;
      queryStats.set(key, q);
    }
  };
}
const cpuMicros = () => {
  const { user, system } = process.cpuUsage();
  return user + system;
};

async function startWalbox(s: ChildSpec): Promise<() => Promise<void>> {
  // Connections stay open, so that the parent can account their server processes' CPU (cpu.ts).
  const pool = new pg.Pool({
    connectionString: s.databaseUrl,
    max: s.poolSize,
    idleTimeoutMillis: 0,
    application_name: `${BENCH_APPLICATION}-dispatcher`,
  });
  if (s.queryStats) countQueries(pool);
  const walbox = new Walbox({ pool, schema: s.schema });
  const sink =
    s.sink.kind === 'noop'
      ? functionSink(s.target, (batch) => record(payloads(batch)))
      : measured(await createBenchSink(s.sink, s.target));
  const dispatcher = walbox.dispatcher({ sinks: { [s.target]: sink }, ...s.dispatcher });
  dispatcher.on('error', (err) => process.stderr.write(`dispatcher error: ${err.stack ?? err}\n`));
  await dispatcher.start();
  return async () => {
    await dispatcher.stop();
    await walbox.close();
    await pool.end();
  };
}

async function startPgBoss(s: ChildSpec): Promise<() => Promise<void>> {
  const boss = new PgBoss({
    connectionString: s.databaseUrl,
    schema: s.bossSchema,
    max: s.poolSize,
    application_name: `${BENCH_APPLICATION}-pgboss`,
  });
  boss.on('error', (err) => process.stderr.write(`pg-boss error: ${err.stack ?? err}\n`));
  await boss.start();
  for (let i = 0; i < s.concurrency; i++) {
    await boss.work<unknown>(
      s.queue ?? 'bench',
      { batchSize: s.batchSize, pollingIntervalSeconds: s.pollingIntervalSeconds },
      async (jobs) => {
        record(jobs.map((j) => j.data));
      },
    );
  }
  return () => boss.stop({ graceful: true, wait: true, timeout: 10_000 });
}

/**
 * The backlog's ceiling: walbox's window read (src/snapshot-reader.ts, docs/ordering.md) of the same
 * entries, the same columns, `batchSize` at a time in id order, continued from the last id read, one
 * partition per connection at a time, and nothing around it: no lease, no cursor written, no parked entries,
 * no whole-transaction completion, no sink. The snapshot `cur` is taken once: the backlog is committed before
 * this starts, and each partition is done at its first empty read.
 */
async function startCeiling(s: ChildSpec): Promise<() => Promise<void>> {
  const c = s.ceiling;
  if (!c) throw new Error('dispatch-child: ceiling mode needs spec.ceiling');
  const pool = new pg.Pool({
    connectionString: s.databaseUrl,
    max: s.concurrency,
    idleTimeoutMillis: 0,
    application_name: `${BENCH_APPLICATION}-dispatcher`,
  });
  pool.on('error', (err) => process.stderr.write(`ceiling pool: ${err}\n`));
  const { rows } = await pool.query<{ cur: string }>('select pg_current_snapshot()::text as cur');
  const cur = rows[0]!.cur;
  // The continuing shape throughout (walbox opens a window with the other shape, then continues with this).
  const read = {
    name: 'walbox-bench-ceiling',
    text: windowSql(`"${s.schema}"`, {
      namespace: '$1',
      partition: '$2',
      prev: '$3::pg_snapshot',
      cur: '$4::pg_snapshot',
      limit: '$5',
      target: 'true',
      after: 'e.id > $6',
      guard: 'true',
    }),
  };
  const todo = Array.from({ length: c.partitions }, (_, p) => p);
  let stopping = false;
  const reader = async () => {
    for (let p = todo.shift(); p !== undefined && !stopping; p = todo.shift()) {
      let after = '0';
      for (;;) {
        const { rows: batch } = await pool.query<{ id: string; payload: unknown }>({
          ...read,
          values: [c.namespace, p, c.since, cur, s.batchSize, after],
        });
        if (batch.length === 0 || stopping) break;
        record(batch.map((e) => e.payload));
        after = batch[batch.length - 1]!.id;
      }
    }
  };
  const readers = Promise.all(Array.from({ length: s.concurrency }, reader));
  readers.catch((err) => {
    process.stderr.write(`ceiling reader: ${err}\n`);
    process.exit(1);
  });
  return async () => {
    stopping = true;
    await readers;
    await pool.end();
  };
}

const starters = { walbox: startWalbox, pgboss: startPgBoss, ceiling: startCeiling } as const;
const stop = await starters[spec.mode](spec);
send({ type: 'ready', rss: process.memoryUsage().rss, cpu: cpuMicros() });

let stopping: Promise<void> | undefined;
function shutdown(code: number): Promise<void> {
  stopping ??= (async () => {
    try {
      await stop();
    } catch (err) {
      process.stderr.write(`dispatch-child stop: ${err}\n`);
      code = 1;
    }
    clearInterval(flusher);
    clearInterval(sampler);
    flush();
    const queries = [...queryStats].map(([text, q]) => [text, q.n, q.ms]);
    send({ type: 'stopped', peakRss: peak.rss, peak, cpu: cpuMicros(), batches, keys, queries });
    if (process.connected) process.disconnect();
    process.exitCode = code;
    setTimeout(() => process.exit(code), 2000).unref(); // whatever handle is left must not keep it alive
  })();
  return stopping;
}
process.on('message', (msg: { type?: string }) => {
  if (msg?.type === 'stop') void shutdown(0);
});
process.on('disconnect', () => void shutdown(1)); // the parent died: don't linger
