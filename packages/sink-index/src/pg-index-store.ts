import { defaultAction } from '@walbox/sink-kit';
import pg from 'pg';
import { RebuildError } from './errors.js';
import type { IndexSet, ResolvedIndex } from './index-definition.js';
import type { IndexStore } from './index-store.js';
import { applyBatch } from './pg-index-apply.js';
import type { ResolvedPostgresIndexSinkConfig } from './pg-index-sink-config.js';
import * as sql from './pg-index-sql.js';
import { writeGeneration } from './pg-index-writes.js';

type Row = { current: number; building: number | null; next: number };

/** The Postgres side of the index sink: one database transaction per source transaction. */
export function postgresIndexStore(
  config: ResolvedPostgresIndexSinkConfig,
  indexes: IndexSet,
): IndexStore & { pool: pg.Pool; ensureTables(): Promise<void> } {
  const owned = config.pool === undefined;
  const pool = config.pool ?? createPool(config);
  const s = config.schema;
  const actionOf = config.actionFor ?? defaultAction;
  let ensured: Promise<void> | undefined;

  const ensureTables = async () => {
    const all = indexes.all();
    await inTransaction(pool, config.statementTimeoutMs, async (client) => {
      if (config.createTables) {
        // create ... if not exists races a concurrent create of the same name: sinks creating tables take turns.
        await client.query(`select pg_advisory_xact_lock(hashtext('walbox-sink-index:ddl'))`);
        for (const q of sql.createTablesSql(s)) await client.query(q);
      }
      await client.query(sql.insertGenerationsSql(s), [all.map((i) => i.namespace), all.map((i) => i.name)]);
    });
  };
  const ready = () => {
    ensured ??= ensureTables().catch((error) => {
      ensured = undefined;
      throw error;
    });
    return ensured;
  };
  /** Runs `step` on the generation row of `index`, locked FOR UPDATE, in a transaction. */
  const onGeneration = async <T>(
    index: ResolvedIndex,
    step: (row: Row, client: pg.ClientBase) => Promise<T>,
  ) => {
    await ready();
    return inTransaction(pool, config.statementTimeoutMs, async (client) => {
      const { rows } = await client.query<Row>(
        `select current, building, next from "${s}".generations where namespace = $1 and index_name = $2 for update`,
        [index.namespace, index.name],
      );
      return step(rows[0]!, client);
    });
  };
  const setGeneration = (client: pg.ClientBase, index: ResolvedIndex, set: string, values: unknown[]) =>
    client.query(`update "${s}".generations set ${set} where namespace = $1 and index_name = $2`, [
      index.namespace,
      index.name,
      ...values,
    ]);

  return {
    pool,
    ensureTables: () => ready(),
    async apply(batch, signal) {
      await ready();
      const client = await checkout(pool);
      try {
        const result = await applyBatch(client, { config, indexes, actionOf }, batch, signal);
        client.release();
        return result;
      } catch (error) {
        await client.query('rollback').catch(() => {});
        client.release(true); // the connection may be broken or mid-statement: never reuse it
        if ((error as { code?: string }).code === '42P01') ensured = undefined; // tables dropped: create again
        // Source transactions committed before stay; redelivered, their violations are reported again.
        throw error;
      }
    },
    async lookup(index, value) {
      await ready();
      const { rows } = await pool.query<{ key: string }>(sql.lookupSql(s), [
        index.namespace,
        index.name,
        value,
      ]);
      return rows.map((r) => r.key);
    },
    async violations(index) {
      await ready();
      const { rows } = await pool.query<{ value: string; keys: string[] }>(sql.violationsSql(s), [
        index.namespace,
        index.name,
      ]);
      return rows.map((r) => ({
        namespace: index.namespace,
        index: index.name,
        value: r.value,
        keys: r.keys,
        entryId: undefined,
      }));
    },
    beginGeneration: (index, force) =>
      onGeneration(index, async (row, client) => {
        if (row.building !== null && !force)
          throw new RebuildError(
            index.name,
            `generation ${row.building} is being built (force takes it over)`,
          );
        const gen = Math.max(row.next, row.current) + 1;
        await setGeneration(client, index, 'building = $3, next = $3', [gen]);
        return { gen, replaced: row.building ?? undefined };
      }),
    async writeGeneration(index, gen, changes, ifAbsent) {
      if (changes.length === 0) return;
      for (let attempt = 1; ; attempt++) {
        try {
          await inTransaction(pool, config.statementTimeoutMs, (client) =>
            writeGeneration(client, s, index, gen, changes, ifAbsent),
          );
          return;
        } catch (error) {
          // Writers take their locks in one sorted statement, so no deadlock is expected; should Postgres report
          // one all the same, or a serialization failure, the chunk is retried a few times.
          const code = (error as { code?: string }).code;
          if (attempt >= 5 || (code !== '40P01' && code !== '40001')) throw error;
        }
      }
    },
    finishGeneration: (index, gen) =>
      onGeneration(index, async (row, client) => {
        if (row.building !== gen)
          throw new RebuildError(index.name, `generation ${gen} is no longer being built`);
        await setGeneration(client, index, 'current = $3, building = null', [gen]);
        return row.current;
      }),
    async abandonGeneration(index, gen) {
      await onGeneration(index, async (row, client) => {
        if (row.building === gen) await setGeneration(client, index, 'building = null', []);
      });
    },
    async dropGeneration(index, gen) {
      for (const q of sql.dropGenerationSql(s)) await pool.query(q, [index.namespace, index.name, gen]);
    },
    generations: (index) =>
      onGeneration(index, async (row) => ({ current: row.current, building: row.building ?? undefined })),
    async close() {
      if (owned) await pool.end();
    },
  };
}

/** Runs `work` in a transaction on a client of the pool; rolls back and rethrows on error. */
async function inTransaction<T>(
  pool: pg.Pool,
  statementTimeoutMs: number,
  work: (c: pg.ClientBase) => Promise<T>,
) {
  const client = await checkout(pool);
  try {
    await client.query('begin');
    await client.query(`set local statement_timeout = ${statementTimeoutMs}`);
    const result = await work(client);
    await client.query('commit');
    client.release();
    return result;
  } catch (error) {
    await client.query('rollback').catch(() => {});
    client.release(true);
    throw error;
  }
}

/**
 * A client of the pool with an 'error' listener while it is checked out (the pool listens only while a client
 * is idle): a connection lost between two queries makes the next query fail instead of crashing the process.
 */
async function checkout(pool: pg.Pool): Promise<pg.PoolClient> {
  const client = await pool.connect();
  const onError = () => {};
  client.on('error', onError);
  const release = client.release.bind(client);
  client.release = (destroy?: boolean | Error) => {
    if (!destroy) client.off('error', onError);
    release(destroy);
  };
  return client;
}

function createPool(config: ResolvedPostgresIndexSinkConfig): pg.Pool {
  const pool = new pg.Pool({
    connectionString: config.connectionString,
    max: config.maxConnections,
    connectionTimeoutMillis: config.connectTimeoutMs,
    query_timeout: config.statementTimeoutMs + config.connectTimeoutMs,
    keepAlive: true,
  });
  pool.on('error', () => {}); // an idle connection lost: the pool replaces it on the next query
  return pool;
}
