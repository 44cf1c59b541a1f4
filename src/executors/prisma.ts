import type { Queryable } from '../executor.js';
import { asRecord, type PgErrorFields, stringOr, walboxRaised } from './driver-error.js';

/**
 * A Prisma Client or interactive transaction (`tx` in `$transaction(async (tx) => ...)`), described by the one
 * method walbox uses. The core imports nothing of Prisma.
 */
export interface PrismaLike {
  // biome-ignore lint/suspicious/noExplicitAny: Prisma's signature takes any parameter values
  $queryRawUnsafe(query: string, ...values: any[]): PromiseLike<unknown>;
}

export function isPrisma(executor: object): executor is PrismaLike {
  return typeof (executor as Partial<PrismaLike>).$queryRawUnsafe === 'function';
}

export function prismaQueryable(prisma: PrismaLike): Queryable {
  return {
    // `prepare` is left to Prisma: walbox's prepared statements are for its own pool.
    async query<R>(text: string, values: readonly unknown[] = []) {
      let rows: unknown;
      try {
        rows = await prisma.$queryRawUnsafe(text, ...values);
      } catch (err) {
        throw walboxRaised(prismaCause(err), err);
      }
      if (!Array.isArray(rows)) throw new TypeError('walbox: $queryRawUnsafe returned no rows array');
      return { rows: rows.map(asPgRow) as R[] };
    },
  };
}

/**
 * Prisma reads int8 as BigInt and numeric as a Decimal; pg (and so walbox) reads both as strings, exact.
 * The other types walbox selects (text, int4, boolean, json, text[], timestamptz) come back as pg's do.
 */
function asPgRow(row: unknown): unknown {
  const r = asRecord(row);
  if (!r) return row;
  for (const [name, value] of Object.entries(r)) {
    if (typeof value === 'bigint') r[name] = value.toString();
    else if (isDecimal(value)) r[name] = value.toFixed();
  }
  return r;
}

function isDecimal(value: unknown): value is { toFixed(): string } {
  const v = asRecord(value);
  return v !== undefined && v.constructor?.name === 'Decimal' && typeof v.toFixed === 'function';
}

/** Prisma's P2010 carries the driver adapter's error: the SQLSTATE and message Postgres sent. */
function prismaCause(err: unknown): PgErrorFields | undefined {
  const cause = asRecord(asRecord(asRecord(asRecord(err)?.meta)?.driverAdapterError)?.cause);
  const code = stringOr(cause?.originalCode) ?? stringOr(cause?.code);
  const message = stringOr(cause?.originalMessage) ?? stringOr(cause?.message);
  if (code === undefined || message === undefined) return undefined;
  return { code, message, detail: stringOr(cause?.detail), hint: stringOr(cause?.hint) };
}
