import type { KeyCommand } from '@walbox/sink-kit';
import { Kysely, PostgresDialect } from 'kysely';
import type pg from 'pg';
import type { PostgresSinkEntry } from './postgres-sink-config.js';

/** One source transaction as a mapping receives it. */
export interface MappedTransaction {
  /** Its entries in this batch, in log order. */
  entries: readonly PostgresSinkEntry[];
  /** One per (namespace, key): its last entry and action ('upsert' or 'delete'). */
  commands: readonly KeyCommand<PostgresSinkEntry>[];
}

/**
 * Writes one source transaction to your own tables, through `db`, which runs its queries in the replica
 * transaction under the transaction's savepoint. The version guard is yours: keep each row's entry id and
 * write only when the entry's is greater (`where version < $id`), and keep deleted rows as tombstones.
 */
// biome-ignore lint/suspicious/noExplicitAny: the user's database type is theirs to give
export type PostgresMapping<DB = any> = (db: Kysely<DB>, transaction: MappedTransaction) => Promise<void>;

/**
 * A Kysely whose every query goes to the client `current()` returns: the connection holding the replica
 * transaction. Kysely asks its pool for a connection per query and releases it after; here that is always
 * the same client, and release does nothing.
 */
// biome-ignore lint/suspicious/noExplicitAny: see PostgresMapping
export function kyselyOn(current: () => pg.ClientBase): Kysely<any> {
  const client = {
    query: (sql: unknown, parameters?: unknown) =>
      (current().query as (sql: unknown, parameters?: unknown) => unknown)(sql, parameters),
    release: () => {},
  };
  return new Kysely({
    dialect: new PostgresDialect({
      pool: { connect: async () => client as never, end: async () => {} },
    }),
  });
}
