import type { Queryable } from '../executor.js';
import { asRecord, type PgErrorFields, stringOr, walboxRaised } from './driver-error.js';
import { toKnexRaw } from './knex-placeholders.js';

/** What walbox reads of a knex.raw builder: a thenable that reports the driver's response. */
interface KnexRaw extends PromiseLike<unknown> {
  on(event: 'query-response', listener: (response: unknown, query: { response?: unknown }) => void): unknown;
}

/**
 * A Knex instance or transaction (`trx`) on the pg client, described by what walbox uses: `raw`, and the
 * client's dialect to check it is Postgres. The core imports nothing of Knex.
 */
export interface KnexLike {
  raw(sql: string, bindings: readonly unknown[]): PromiseLike<unknown>;
  readonly client: unknown;
}

/** Knex instances and transactions are functions (`knex('table')`) carrying `raw` and `client`. */
export function isKnex(executor: object): executor is KnexLike {
  return (
    typeof executor === 'function' &&
    typeof (executor as Partial<KnexLike>).raw === 'function' &&
    asRecord((executor as Partial<KnexLike>).client) !== undefined
  );
}

export function knexQueryable(knex: KnexLike): Queryable {
  const dialect = asRecord(knex.client)?.dialect;
  // knex's pg client (and pgnative, built on it); mysql, sqlite and the others cannot run walbox's SQL.
  if (dialect !== 'postgresql') {
    throw new TypeError(`walbox: a Knex executor must use the pg client, not ${String(dialect)}`);
  }
  return {
    // `prepare` is left to Knex: walbox's prepared statements are for its own pool.
    async query<R>(text: string, values: readonly unknown[] = []) {
      const { sql, bindings } = toKnexRaw(text, values);
      const raw = knex.raw(sql, bindings) as KnexRaw;
      // The driver's own response, before a `postProcessResponse` hook (camelCase keys, say) reshapes it.
      let response: unknown;
      raw.on('query-response', (_processed, query) => {
        response = query.response;
      });
      let processed: unknown;
      try {
        processed = await raw;
      } catch (err) {
        throw walboxRaised(knexCause(err), err);
      }
      const rows = asRecord(response ?? processed)?.rows;
      if (!Array.isArray(rows))
        throw new TypeError('walbox: knex.raw returned no rows array (not the pg client?)');
      return { rows: rows as R[] };
    },
  };
}

/** Knex throws pg's error with the query (values interpolated) before the message: keep pg's message. */
function knexCause(err: unknown): PgErrorFields | undefined {
  const e = asRecord(err);
  const code = stringOr(e?.code);
  const message = stringOr(e?.message);
  if (code === undefined || message === undefined) return undefined;
  const at = message.lastIndexOf(' - walbox: ');
  return {
    code,
    message: at < 0 ? message : message.slice(at + 3),
    detail: stringOr(e?.detail),
    hint: stringOr(e?.hint),
  };
}
