/** walbox's own SQLSTATEs (`WB0nn`), which `raisedError` turns into typed walbox errors. */
const WALBOX_STATE = /^WB\d{3}$/;

/** The fields of a pg DatabaseError that walbox reads to explain an error. */
export interface PgErrorFields {
  code: string;
  message: string;
  detail?: string | undefined;
  hint?: string | undefined;
}

/**
 * An ORM wraps the driver's error in its own (Drizzle's DrizzleQueryError, Prisma's P2010, Knex's message
 * prefixed with the query). When walbox's SQL raised it, hand walbox a pg-shaped error carrying the state
 * and the original message, so the caller gets the same typed error as with a pg executor; anything else
 * stays the ORM's error, as the caller's own queries would throw it.
 */
export function walboxRaised(fields: PgErrorFields | undefined, wrapper: unknown): unknown {
  if (!fields || !WALBOX_STATE.test(fields.code)) return wrapper;
  return Object.assign(new Error(fields.message, { cause: wrapper }), {
    code: fields.code,
    detail: fields.detail,
    hint: fields.hint,
  });
}

/** A value as a record, or undefined when it is not an object. */
export function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
}

export function stringOr(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
