import type { Queryable } from '../executor.js';
import { channelFor, quoteIdent } from '../names.js';

/**
 * Where walbox's SQL runs and what it addresses: the one thing every SQL module takes, so that no function
 * takes (db, schema) pairs and no caller quotes a name. Built once per Walbox from the validated schema name.
 */
export interface Sql {
  /** The connection (a pool, or the caller's transaction: see `on`). */
  readonly db: Queryable;
  /** The schema quoted for SQL text: `"walbox"`. */
  readonly schema: string;
  /** The schema as named (for the channel, pg-boss's schema, advisory lock keys). */
  readonly schemaName: string;
  /** The LISTEN/NOTIFY channel appends and operator actions wake dispatchers on. */
  readonly channel: string;
  /** The same schema over another connection: a caller's executor, a drain's statements. */
  on(db: Queryable): Sql;
}

export function sqlContext(db: Queryable, schemaName: string): Sql {
  const schema = quoteIdent('schema', schemaName);
  const channel = channelFor(schemaName);
  const on = (other: Queryable): Sql => ({ db: other, schema, schemaName, channel, on });
  return on(db);
}
