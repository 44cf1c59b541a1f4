// The parent's side of the sink rows of bench/dispatch.ts: finds each sink's server, creates what the run
// writes into (a database, a directory, a stream, an exchange and queue), and removes it afterwards. The
// child builds the sink from the settings returned here (sinks.ts).
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { redact } from './database.js';
import { openBenchMemcached } from './memcached.js';
import { type BenchRedis, removeKeys } from './redis.js';
import type { SinkSettings } from './sinks.js';

export const SINK_SCENARIOS = [
  'postgres',
  'rocksdb',
  'memcached-invalidate',
  'nats',
  'rabbitmq',
  'redis-stream',
] as const;
export type SinkScenario = (typeof SINK_SCENARIOS)[number];

/** Sinks that publish a key's entries one after the other: their rate depends on the keys per batch. */
export const PER_KEY_SINKS: ReadonlySet<SinkScenario> = new Set(['nats', 'rabbitmq']);

/** BENCH_SCENARIOS as a set; `sinks` stands for the no-op throughput row and every sink row. */
export function scenarioSet(raw: string, known: readonly string[]): Set<string> {
  const names = raw
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean)
    .flatMap((n) => (n === 'sinks' ? ['throughput', ...SINK_SCENARIOS] : [n]));
  const all = [...known, ...SINK_SCENARIOS];
  const unknown = names.filter((n) => !all.includes(n));
  if (unknown.length > 0) {
    throw new Error(`BENCH_SCENARIOS: unknown ${unknown.join(', ')}; known: ${all.join(', ')}, sinks`);
  }
  return new Set(names);
}

/** The paths whose uncommitted changes the revision line flags. */
export function codePaths(scenarios: ReadonlySet<string>): string[] {
  const pkg = (n: SinkScenario) =>
    n === 'redis-stream' ? 'redis' : n === 'memcached-invalidate' ? 'memcached' : n;
  const sinks = SINK_SCENARIOS.filter((n) => scenarios.has(n)).map((n) => `packages/sink-${pkg(n)}/src`);
  return [...new Set(['migrations', 'src', 'packages/sink-kit/src', 'packages/sink-redis/src', ...sinks])];
}

/** What a sink row runs against: the settings for the child, where that is, and how to remove it. */
export interface PreparedSink {
  settings: SinkSettings;
  /** For the report. */
  where: string;
  cleanup(): Promise<void>;
}

export interface SinkRun {
  /** The bench's database: the Postgres sink's replica database is created on its server. */
  databaseUrl: string;
  pool: pg.Pool;
  /** The run's walbox schema, unique per run: names everything created here. */
  schema: string;
  /** The namespace the row appends to. */
  namespace: string;
  /** The dispatcher's drains: the Postgres sink gets a connection for each. */
  concurrency: number;
  redis: BenchRedis | { skipped: string };
}

/**
 * A sink row: prepares what `name` writes into, runs `measure` (which prints the row) and removes it again.
 * Prints the row's one line itself when the server is unavailable or the row fails.
 */
export async function withSink(
  name: SinkScenario,
  run: SinkRun,
  measure: (label: string, sink: PreparedSink) => Promise<void>,
): Promise<void> {
  const label = `${`4 ${name} sink`.padEnd(12)}  `;
  const prepared = await prepareSink(name, run).catch((err: unknown) => ({
    skipped: `could not prepare: ${err instanceof Error ? err.message : err}`,
  }));
  if ('skipped' in prepared) {
    console.log(`${label}skipped: ${prepared.skipped}`);
    return;
  }
  try {
    await measure(label, prepared);
  } catch (err) {
    console.log(`${label}FAILED: ${err instanceof Error ? err.message : err}`);
  } finally {
    await prepared.cleanup().catch((err) => console.error(`${name} cleanup:`, err));
  }
}

const unavailable = (what: string, err: unknown) => ({
  skipped: `${what} unavailable: ${err instanceof Error ? err.message : String(err)}`,
});

function prepareSink(name: SinkScenario, run: SinkRun): Promise<PreparedSink | { skipped: string }> {
  switch (name) {
    case 'postgres':
      return postgresReplica(run);
    case 'rocksdb':
      return rocksdbDirectory();
    case 'memcached-invalidate':
      return memcachedServer(run);
    case 'nats':
      return natsStream(run);
    case 'rabbitmq':
      return rabbitmqQueue(run);
    case 'redis-stream':
      return redisStream(run);
  }
}

async function postgresReplica(run: SinkRun): Promise<PreparedSink> {
  const database = `walbox_bench_replica_${randomBytes(4).toString('hex')}`;
  await run.pool.query(`create database "${database}"`);
  const url = new URL(run.databaseUrl);
  url.pathname = `/${database}`;
  return {
    settings: { kind: 'postgres', connectionString: url.href, maxConnections: run.concurrency },
    where: `database ${database} on the bench's server, pool of ${run.concurrency}`,
    // The child's pool is gone by now; `force` ends any connection left all the same (Postgres 13+).
    cleanup: async () => {
      await run.pool.query(`drop database if exists "${database}" with (force)`);
    },
  };
}

async function rocksdbDirectory(): Promise<PreparedSink> {
  const path = await mkdtemp(join(tmpdir(), 'walbox-bench-rocksdb-'));
  return {
    settings: { kind: 'rocksdb', path },
    where: path,
    cleanup: () => rm(path, { recursive: true, force: true }),
  };
}

async function memcachedServer(run: SinkRun): Promise<PreparedSink | { skipped: string }> {
  const server = await openBenchMemcached();
  if ('skipped' in server) return { skipped: `memcached unavailable: ${server.skipped}` };
  return {
    settings: {
      kind: 'memcached-invalidate',
      servers: server.servers,
      keyPrefix: `walbox-bench:${run.schema}:`,
    },
    where: `${server.servers} (${server.source})`,
    // Invalidate mode writes only tombstones, which expire after its window (30 s): nothing to remove.
    cleanup: () => server.stop(),
  };
}

async function natsStream(run: SinkRun): Promise<PreparedSink | { skipped: string }> {
  const servers = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
  const { connect } = await import('@nats-io/transport-node');
  const { jetstreamManager } = await import('@nats-io/jetstream');
  let nc: Awaited<ReturnType<typeof connect>>;
  try {
    nc = await connect({ servers, timeout: 2000, maxReconnectAttempts: 0 });
  } catch (err) {
    return unavailable(`NATS at ${servers}`, err);
  }
  const stream = `WALBOX_BENCH_${run.schema}`;
  const subjects = `walbox-bench.${run.schema}`;
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({
      name: stream,
      subjects: [`${subjects}.>`],
      duplicate_window: 120_000_000_000, // ns: JetStream's default, 2 minutes
      max_msgs: 100_000, // bounded, as the Redis stream is, so a long run does not fill the disk
    });
    return {
      settings: {
        kind: 'nats',
        servers,
        subject: `${subjects}.{namespace}.{key}`,
        stream,
        msgIdPrefix: `${run.schema}:`,
      },
      where: `${servers} stream ${stream} (file storage, max 100k messages)`,
      cleanup: async () => {
        try {
          await jsm.streams.delete(stream);
        } finally {
          await nc.close();
        }
      },
    };
  } catch (err) {
    await nc.close();
    return unavailable(`JetStream at ${servers}`, err);
  }
}

async function rabbitmqQueue(run: SinkRun): Promise<PreparedSink | { skipped: string }> {
  const url = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
  const { connect } = await import('amqplib');
  let model: Awaited<ReturnType<typeof connect>>;
  try {
    model = await connect(url, { timeout: 2000 });
  } catch (err) {
    return unavailable(`RabbitMQ at ${redact(url)}`, err);
  }
  model.on('error', () => {}); // a lost connection shows as the row's undelivered entries
  const name = `walbox-bench.${run.schema}`;
  // Consumed as fast as it comes, so that the queue stays short, as a healthy consumer keeps it.
  let consumed = 0;
  let ch: Awaited<ReturnType<typeof model.createChannel>>;
  let consumerTag: string;
  try {
    ch = await model.createChannel();
    await ch.assertExchange(name, 'topic', { durable: true });
    await ch.assertQueue(name, { durable: true });
    await ch.bindQueue(name, name, '#');
    ({ consumerTag } = await ch.consume(
      name,
      () => {
        consumed++;
      },
      { noAck: true },
    ));
  } catch (err) {
    await model.close().catch(() => {});
    return unavailable(`RabbitMQ at ${redact(url)}`, err);
  }
  return {
    settings: {
      kind: 'rabbitmq',
      url,
      exchange: name,
      routingKey: '{namespace}.{key}',
      messageIdPrefix: `${run.schema}:`,
    },
    where: `${redact(url)} durable topic exchange and queue ${name}, consumed here (noAck)`,
    cleanup: async () => {
      try {
        await ch.cancel(consumerTag);
        await ch.deleteQueue(name);
        await ch.deleteExchange(name);
      } finally {
        await model.close();
      }
      if (consumed === 0) throw new Error(`rabbitmq: the queue ${name} received nothing`);
    },
  };
}

async function redisStream(run: SinkRun): Promise<PreparedSink | { skipped: string }> {
  if ('skipped' in run.redis) return { skipped: `Redis unavailable: ${run.redis.skipped}` };
  const { url, source } = run.redis;
  const prefix = `walbox-bench:${run.schema}:`;
  return {
    settings: { kind: 'redis-stream', url, stream: `${prefix}{namespace}`, maxLen: 100_000 },
    where: `${url} (${source}) stream ${prefix}${run.namespace} MAXLEN ~ 100k`,
    // The stream and its guard hash (<stream>:walbox-last-ids); the Redis row's keys are left to its cleanup.
    cleanup: () => removeKeys(url, `${prefix}${run.namespace}*`),
  };
}
