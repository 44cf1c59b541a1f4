import { Logger, runMigrations } from 'graphile-worker';
import type pg from 'pg';
import PgBoss from 'pg-boss';
import { bossSchema } from '../../src/dispatch/drain-queue.js';
import { type EntryInput, Walbox } from '../../src/index.js';
import type { ConsumerSpec, SystemName } from './consumer-spec.js';

/** The tuning of every system; bench/peers/peers.ts reads it from the environment. */
export interface Tuning {
  walbox: ConsumerSpec['walbox'] & { partitions: number };
  graphile: ConsumerSpec['graphile'];
  pgboss: ConsumerSpec['pgboss'];
  ceiling: ConsumerSpec['ceiling'];
}

/** One system's producer side: its schema, how a producer writes a transaction's entries, its cleanup. */
export interface PeerSystem {
  name: SystemName;
  /** What the row says about the setup. */
  label: string;
  schema: string;
  /** Writes `batch` in the producer's open transaction on `client`. */
  append(client: pg.PoolClient, batch: EntryInput[]): Promise<unknown>;
  /** Drops everything the system created; safe to call after a failed prepare. */
  cleanup(): Promise<void>;
}

const NAMESPACE = 'peers';
const quote = (schema: string) => `"${schema}"`;

async function dropSchemas(pool: pg.Pool, schemas: string[]): Promise<void> {
  for (const s of schemas) {
    await pool
      .query(`drop schema if exists ${quote(s)} cascade`)
      .catch((err) => console.error('cleanup:', err));
  }
}

/** walbox: appendMany in the producer's transaction; the consumer is a dispatcher with a no-op sink. */
export async function prepareWalbox(pool: pg.Pool, schema: string, t: Tuning): Promise<PeerSystem> {
  const walbox = new Walbox({ pool, schema });
  const system: PeerSystem = {
    name: 'walbox',
    label: `partitions ${t.walbox.partitions}, batchSize ${t.walbox.batchSize}, concurrency ${t.walbox.concurrency}`,
    schema,
    append: (client, batch) => walbox.appendMany(client, batch),
    async cleanup() {
      await walbox.close();
      await dropSchemas(pool, [schema, bossSchema(schema)]);
    },
  };
  try {
    await walbox.migrate();
    await walbox.namespaces.upsert({
      name: NAMESPACE,
      partitions: t.walbox.partitions,
      targets: [t.walbox.target],
    });
  } catch (err) {
    await system.cleanup();
    throw err;
  }
  return system;
}

/**
 * graphile-worker: one job per entry, added in the producer's transaction with one add_jobs call (its SQL
 * API, as a database-side producer would use it); queue_name null, so jobs run in parallel.
 */
export async function prepareGraphile(pool: pg.Pool, schema: string, t: Tuning): Promise<PeerSystem> {
  const q = quote(schema);
  const system: PeerSystem = {
    name: 'graphile-worker',
    label: `concurrency ${t.graphile.concurrency}, localQueue ${t.graphile.localQueueSize}, completeJobBatchDelay 0`,
    schema,
    append: (client, batch) =>
      client.query(
        `select count(*) from ${q}.add_jobs(array(
           select ($1, e.value, null, null, null, null, null, null)::${q}.job_spec
             from json_array_elements($2::json) e))`,
        [t.graphile.task, JSON.stringify(batch.map((e) => ({ key: e.key, ...(e.payload as object) })))],
      ),
    cleanup: () => dropSchemas(pool, [schema]),
  };
  try {
    await runMigrations({ pgPool: pool, schema, logger: errorsOnly });
  } catch (err) {
    await system.cleanup();
    throw err;
  }
  return system;
}

const errorsOnly = new Logger(() => (level, message) => {
  if (level === 'error') console.error(`graphile-worker: ${message}`);
});

/** pg-boss 10.4.2: one job per entry, inserted in the producer's transaction through its `db` option. */
export async function preparePgBoss(
  pool: pg.Pool,
  url: string,
  schema: string,
  t: Tuning,
): Promise<PeerSystem> {
  const boss = new PgBoss({ connectionString: url, schema, max: 2, supervise: false, schedule: false });
  boss.on('error', (err) => console.error('pg-boss (producer side):', err));
  const queue = t.pgboss.queue;
  const system: PeerSystem = {
    name: 'pg-boss',
    label: `${t.pgboss.workers} work() loops, batchSize ${t.pgboss.batchSize}, polling ${t.pgboss.pollingIntervalSeconds} s`,
    schema,
    append: (client, batch) =>
      boss.insert(
        batch.map((e) => ({ name: queue, data: { key: e.key, ...(e.payload as object) } })),
        { db: { executeSql: (text, values) => client.query(text, values) } },
      ),
    async cleanup() {
      await boss.stop({ graceful: false, wait: true }).catch(() => {});
      await dropSchemas(pool, [schema]);
    },
  };
  try {
    await boss.start();
    await boss.createQueue(queue, { name: queue, policy: 'standard' });
  } catch (err) {
    await system.cleanup();
    throw err;
  }
  return system;
}

/**
 * The ceiling: a bulk insert of the same rows into a plain table whose rows carry their writer's xid8, read
 * by snapshot ranges (consumer-child.ts). No queue semantics, no per-key order, no retries: the floor of
 * the technique walbox is built on.
 */
export async function prepareCeiling(pool: pg.Pool, schema: string): Promise<PeerSystem> {
  const q = quote(schema);
  const system: PeerSystem = {
    name: 'ceiling',
    label: 'bulk insert + snapshot-range read, no queue semantics',
    schema,
    append: (client, batch) =>
      client.query(
        `insert into ${q}.entries (key, payload)
         select key, payload from json_to_recordset($1::json) as x(key text, payload jsonb)`,
        [JSON.stringify(batch.map((e) => ({ key: e.key, payload: e.payload })))],
      ),
    cleanup: () => dropSchemas(pool, [schema]),
  };
  try {
    await pool.query(`create schema ${q}`);
    await pool.query(`create table ${q}.entries (
      id bigserial primary key,
      xid xid8 not null default pg_current_xact_id(),
      key text not null,
      payload jsonb not null)`);
    await pool.query(`create index on ${q}.entries (xid)`);
  } catch (err) {
    await system.cleanup();
    throw err;
  }
  return system;
}
