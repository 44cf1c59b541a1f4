import { defaultAction, type FailedEntry, guardSecrets, redactSecrets, urlSecrets } from '@walbox/sink-kit';
import pg from 'pg';
import { kyselyOn } from './kysely-mapping.js';
import {
  type PostgresSinkConfig,
  type PostgresSinkEntry,
  type ResolvedPostgresSinkConfig,
  resolvePostgresSinkConfig,
} from './postgres-sink-config.js';
import { createTableSql, type ReplicaTable, readSql, replicaTable } from './replica-sql.js';
import { type TableOf, tableWriter, type WriteTransaction, writeTransactions } from './replica-writer.js';
import { planTransactions } from './transaction-plan.js';

/** The batch context walbox passes to apply; only the abort signal is used. */
export interface PostgresSinkContext {
  signal?: AbortSignal;
}

/** A key's row in the replica: a tombstone (deleted, payload null) keeps the version of its delete. */
export interface ReplicaRow {
  payload: unknown;
  version: string;
  deleted: boolean;
}

/** Structurally a walbox `Sink`. */
export interface PostgresSink {
  readonly name: string;
  /** The pool to the replica (created from `connectionString`, or the one passed in). */
  readonly pool: pg.Pool;
  apply(
    batch: readonly PostgresSinkEntry[],
    ctx?: PostgresSinkContext,
  ): Promise<void | { failed: FailedEntry[] }>;
  /** Creates the schema and these namespaces' tables unless they exist (what apply does with createTables). */
  ensureTables(namespaces: readonly string[]): Promise<void>;
  /** The replica row of (namespace, key), tombstones included; undefined when there is none. */
  read(namespace: string, key: string): Promise<ReplicaRow | undefined>;
  close(): Promise<void>;
}

/**
 * A sink that replicates into tables of another Postgres database: one table per namespace, one row per key,
 * written by version-guarded upserts; a delete leaves a tombstone row. Each batch is one replica transaction,
 * with a savepoint per source transaction, so a reader of the replica never sees part of a source transaction.
 */
export function createPostgresSink(input: PostgresSinkConfig): PostgresSink {
  const config = resolvePostgresSinkConfig(input);
  const owned = config.pool === undefined;
  const pool = config.pool ?? createPool(config);
  const actionOf = config.actionFor ?? defaultAction;
  const tables = new Map<string, ReplicaTable | { error: unknown }>();
  const ensured = new Set<string>();
  let closed = false;

  const tableOf: TableOf = (namespace) => {
    let table = tables.get(namespace);
    if (!table) {
      try {
        table = replicaTable(config.schema, config.tableFor ? config.tableFor(namespace) : namespace);
      } catch (error) {
        table = { error };
      }
      tables.set(namespace, table);
    }
    return table;
  };

  const mapping = config.mapping;
  const write: WriteTransaction = mapping
    ? (client, t) =>
        mapping(
          kyselyOn(() => client),
          { entries: t.entries, commands: t.commands },
        )
    : tableWriter(tableOf);

  const ensure = async (list: readonly ReplicaTable[]) => {
    const missing = list.filter((t) => !ensured.has(t.qualified));
    if (missing.length === 0) return;
    const client = await checkout(pool);
    try {
      await client.query('begin');
      // create ... if not exists is not safe against a concurrent create of the same name (a unique violation
      // on the catalog): sinks creating tables take turns.
      await client.query(`select pg_advisory_xact_lock(hashtext('walbox-sink-postgres:ddl'))`);
      for (const t of missing) for (const sql of createTableSql(t)) await client.query(sql);
      await client.query('commit');
      for (const t of missing) ensured.add(t.qualified);
      client.release();
    } catch (error) {
      await client.query('rollback').catch(() => {});
      client.release(true);
      throw error;
    }
  };

  const sink: PostgresSink = {
    name: config.name,
    pool,
    async apply(batch, ctx = {}) {
      if (closed) throw new Error(`postgres sink "${config.name}" is closed`);
      const plan = planTransactions(batch, actionOf);
      if (config.createTables && !mapping) {
        const used = new Set(plan.flatMap((t) => t.commands.map((c) => tableOf(c.last.namespace))));
        await ensure([...used].filter((t): t is ReplicaTable => !('error' in t)));
      }
      const client = await checkout(pool);
      let failed: FailedEntry[];
      try {
        await client.query('begin');
        await client.query(`set local statement_timeout = ${config.statementTimeoutMs}`);
        failed = await writeTransactions(client, plan, write, ctx.signal);
        await client.query('commit');
        client.release();
      } catch (error) {
        await client.query('rollback').catch(() => {});
        client.release(true); // the connection may be broken or mid-statement: never reuse it
        // A table dropped (or a replica database recreated) since it was created: create it on the retry.
        if ((error as { code?: string }).code === '42P01') ensured.clear();
        throw error;
      }
      return failed.length > 0 ? { failed } : undefined;
    },
    async ensureTables(namespaces) {
      await ensure(
        namespaces.map((ns) => {
          const table = tableOf(ns);
          if ('error' in table) throw table.error;
          return table;
        }),
      );
    },
    async read(namespace, key) {
      const table = tableOf(namespace);
      if ('error' in table) throw table.error;
      try {
        const { rows } = await pool.query<ReplicaRow>(readSql(table), [key]);
        return rows[0];
      } catch (error) {
        if ((error as { code?: string }).code === '42P01') return undefined; // no table yet: no row
        throw error;
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      if (owned) await pool.end();
    },
  };
  // util.inspect shows no password, and errors lose the connection string's.
  return guardSecrets(sink, 'PostgresSink', urlSecrets(config.connectionString), () => ({
    name: config.name,
    database: config.connectionString ? redactSecrets(config.connectionString) : 'a pool given by the caller',
  }));
}

/**
 * A client of the pool with an 'error' listener while it is checked out: the pool listens only while a client
 * is idle, and a connection lost between two queries of a batch would otherwise be an uncaught error. The
 * query that follows fails, and the client is then released with release(true).
 */
async function checkout(pool: pg.Pool): Promise<pg.PoolClient> {
  const client = await pool.connect();
  const onError = () => {};
  client.on('error', onError);
  const release = client.release.bind(client);
  client.release = (destroy?: boolean | Error) => {
    if (!destroy) client.off('error', onError); // a destroyed client keeps it while it closes
    release(destroy);
  };
  return client;
}

function createPool(config: ResolvedPostgresSinkConfig): pg.Pool {
  const pool = new pg.Pool({
    connectionString: config.connectionString,
    max: config.maxConnections,
    // Fail fast so that apply throws and the dispatcher backs off, rather than a batch hanging on a server
    // that is down or stopped: a connection attempt, and any query, end after these.
    connectionTimeoutMillis: config.connectTimeoutMs,
    query_timeout: config.statementTimeoutMs + config.connectTimeoutMs,
    keepAlive: true,
  });
  // An idle connection lost (replica restarted) is reported here; the pool replaces it on the next query.
  pool.on('error', () => {});
  return pool;
}
