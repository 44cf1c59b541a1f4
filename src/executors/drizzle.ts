import pg from 'pg';
import type { Queryable } from '../executor.js';
import { asRecord, stringOr, walboxRaised } from './driver-error.js';

/**
 * A Drizzle database or transaction on the node-postgres driver (`drizzle-orm/node-postgres`): described by
 * the one member walbox uses, the public session's `prepareQuery`, so the core imports nothing of Drizzle.
 */
export interface DrizzleLike {
  readonly _: {
    readonly session: {
      prepareQuery(
        query: { sql: string; params: unknown[] },
        fields: undefined,
        name: string | undefined,
        isResponseInArrayMode: boolean,
      ): { execute(): Promise<unknown> };
    };
  };
}

export function isDrizzle(executor: object): executor is DrizzleLike {
  const session = asRecord(asRecord((executor as Partial<DrizzleLike>)._)?.session);
  return typeof session?.prepareQuery === 'function';
}

/**
 * Types whose text Drizzle's node-postgres driver keeps as strings (its own mapping turns them into Dates
 * later; a raw query skips that): timestamptz, timestamp, date, interval, numeric[], timestamp[],
 * timestamptz[], interval[], date[]. walbox's rows get pg's parsers for them, as with a pg executor.
 */
const KEPT_AS_TEXT = new Set([1184, 1114, 1082, 1186, 1231, 1115, 1185, 1187, 1182]);

interface PgResult {
  rows: Record<string, unknown>[];
  fields: { name: string; dataTypeID: number }[];
}

export function drizzleQueryable(db: DrizzleLike): Queryable {
  return {
    // `prepare` is left to Drizzle: walbox's prepared statements are for its own pool.
    async query<R>(text: string, values: readonly unknown[] = []) {
      let result: unknown;
      try {
        result = await db._.session
          .prepareQuery({ sql: text, params: [...values] }, undefined, undefined, false)
          .execute();
      } catch (err) {
        const cause = asRecord(asRecord(err)?.cause);
        const code = stringOr(cause?.code);
        throw walboxRaised(
          code === undefined
            ? undefined
            : {
                code,
                message: String(cause?.message),
                detail: stringOr(cause?.detail),
                hint: stringOr(cause?.hint),
              },
          err,
        );
      }
      const { rows, fields } = (result ?? {}) as Partial<PgResult>;
      if (!Array.isArray(rows) || !Array.isArray(fields)) {
        throw new TypeError(
          'walbox: a Drizzle executor must use the node-postgres driver (drizzle-orm/node-postgres)',
        );
      }
      for (const field of fields) {
        if (!KEPT_AS_TEXT.has(field.dataTypeID)) continue;
        const parse = pg.types.getTypeParser(field.dataTypeID, 'text');
        for (const row of rows) {
          const value = row[field.name];
          if (typeof value === 'string') row[field.name] = parse(value);
        }
      }
      return { rows: rows as R[] };
    },
  };
}
