import type pg from 'pg';
import { indexSet } from './index-definition.js';
import { type IndexSink, indexSink } from './index-sink.js';
import { type PostgresIndexSinkConfig, resolvePostgresIndexSinkConfig } from './pg-index-sink-config.js';
import { postgresIndexStore } from './pg-index-store.js';

export interface PostgresIndexSink extends IndexSink {
  /** The pool to the target database (created from `connectionString`, or the one passed in). */
  readonly pool: pg.Pool;
  /** Creates the schema, the tables and the generation rows unless they exist (apply does it on first use). */
  ensureTables(): Promise<void>;
}

/**
 * An index sink on Postgres: index tables in the target database, one transaction per source transaction,
 * version-guarded per key, unique claims checked against the state the whole source transaction leaves.
 */
export function createPostgresIndexSink(input: PostgresIndexSinkConfig): PostgresIndexSink {
  const config = resolvePostgresIndexSinkConfig(input);
  const indexes = indexSet(config.indexes);
  const store = postgresIndexStore(config, indexes);
  return Object.assign(indexSink(config, indexes, store), {
    pool: store.pool,
    ensureTables: store.ensureTables,
  });
}
