import { createHash } from 'node:crypto';
import { CompiledQuery } from 'kysely';
import { type DrizzleLike, type KnexLike, ormQueryable, type PrismaLike } from './executors/orm-executors.js';

export interface QueryOptions {
  /**
   * Run it as a named prepared statement (pg executors; Kysely runs it as usual): Postgres parses it once
   * per connection and, after a few runs, may plan it once too. For the dispatcher's hot statements on the
   * partitioned log, planning across every day partition cost more than running them (~1 ms against 80 µs).
   */
  prepare?: boolean;
}

/** The one thing walbox needs from a connection: run a parameterized query and get rows back. */
export interface Queryable {
  query<R = Record<string, unknown>>(
    text: string,
    values?: readonly unknown[],
    options?: QueryOptions,
  ): Promise<{ rows: R[] }>;
}

/** A pg Pool, Client or PoolClient (anything with `query(text, values)`). */
export interface PgLike {
  // biome-ignore lint/suspicious/noExplicitAny: pg's overloads are wider than walbox needs
  query(text: string, values?: any[]): Promise<{ rows: any[] }>;
}

/** A Kysely instance or transaction. */
export interface KyselyLike {
  // biome-ignore lint/suspicious/noExplicitAny: Kysely's generic signature
  executeQuery(query: CompiledQuery<any>): Promise<{ rows: any[] }>;
}

/**
 * Whatever the caller already uses: a pg Client/PoolClient inside its BEGIN, a pg Pool (autocommit),
 * a Kysely instance/Transaction, a Drizzle (node-postgres) database/transaction, a Knex instance/transaction
 * or a Prisma Client/interactive transaction (docs/executors.md). Appends run on it, so they commit or roll
 * back with the caller.
 */
export type Executor = PgLike | KyselyLike | DrizzleLike | KnexLike | PrismaLike;

export function toQueryable(executor: Executor): Queryable {
  if (typeof (executor as KyselyLike).executeQuery === 'function') {
    const db = executor as KyselyLike;
    return {
      query: async <R>(text: string, values: readonly unknown[] = []) => {
        const result = await db.executeQuery(CompiledQuery.raw(text, [...values]));
        return { rows: result.rows as R[] };
      },
    };
  }
  const orm = ormQueryable(executor);
  if (orm) return orm;
  if (typeof (executor as PgLike).query === 'function') {
    const pg = executor as PgLike;
    return {
      query: async <R>(text: string, values: readonly unknown[] = [], options?: QueryOptions) => {
        const result = options?.prepare
          ? await (pg as unknown as PreparingPg).query({
              name: statementName(text),
              text,
              values: [...values],
            })
          : await pg.query(text, [...values]);
        return { rows: result.rows as R[] };
      },
    };
  }
  throw new TypeError(
    'walbox: executor must be a pg Pool/Client/PoolClient, or a Kysely, Drizzle, Knex or Prisma instance/transaction',
  );
}

/** pg's query(config) form, which PgLike leaves out (walbox only needs it for prepared statements). */
interface PreparingPg {
  // biome-ignore lint/suspicious/noExplicitAny: pg's result rows
  query(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: any[] }>;
}

const names = new Map<string, string>();

/** One name per statement text (the schema is part of the text): pg refuses one name for two texts. */
function statementName(text: string): string {
  let name = names.get(text);
  if (name === undefined) {
    name = `walbox_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
    names.set(text, name);
  }
  return name;
}
