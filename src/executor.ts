import { CompiledQuery } from 'kysely';

/** The one thing walbox needs from a connection: run a parameterized query and get rows back. */
export interface Queryable {
  query<R = Record<string, unknown>>(text: string, values?: readonly unknown[]): Promise<{ rows: R[] }>;
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
 * or a Kysely instance/Transaction. Appends run on it, so they commit or roll back with the caller.
 */
export type Executor = PgLike | KyselyLike;

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
  if (typeof (executor as PgLike).query === 'function') {
    const pg = executor as PgLike;
    return {
      query: async <R>(text: string, values: readonly unknown[] = []) => {
        const result = await pg.query(text, [...values]);
        return { rows: result.rows as R[] };
      },
    };
  }
  throw new TypeError(
    'walbox: executor must be a pg Pool/Client/PoolClient or a Kysely instance/transaction',
  );
}
