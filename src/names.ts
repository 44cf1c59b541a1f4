import { InvalidNameError } from './errors.js';

// Lower-case only, so that a name means the same quoted and unquoted, and under Postgres's 63-byte limit.
const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;
/** Namespaces and targets may also carry dots and dashes ("billing.invoices", "redis-cache"). */
export const LOGICAL_NAME = /^[a-z][a-z0-9_.-]{0,62}$/;

/** Validates a Postgres identifier (schema, table, column) and returns it double-quoted. */
export function quoteIdent(kind: string, name: unknown): string {
  assertIdentifier(kind, name);
  return `"${name}"`;
}

export function assertIdentifier(kind: string, name: unknown): asserts name is string {
  if (typeof name !== 'string' || !IDENTIFIER.test(name)) {
    throw new InvalidNameError(
      kind,
      name,
      'use 1-63 lower-case letters, digits or _, not starting with a digit',
    );
  }
}

export function assertLogicalName(kind: string, name: unknown): asserts name is string {
  if (typeof name !== 'string' || !LOGICAL_NAME.test(name)) {
    throw new InvalidNameError(
      kind,
      name,
      'use 1-63 lower-case letters, digits, _, . or -, starting with a letter',
    );
  }
}

/** "table" or "schema.table", each part validated; returns the quoted, qualified name. */
export function quoteQualified(kind: string, name: unknown): string {
  if (typeof name !== 'string') throw new InvalidNameError(kind, name, 'expected a string');
  const parts = name.split('.');
  if (parts.length > 2) throw new InvalidNameError(kind, name, 'expected "table" or "schema.table"');
  return parts.map((part) => quoteIdent(kind, part)).join('.');
}

/** Postgres truncates identifiers, channel names among them, to NAMEDATALEN - 1 bytes. */
const MAX_IDENTIFIER_BYTES = 63;
const CHANNEL_PREFIX = 'walbox_';
/** The longest schema name whose channel, `walbox_<schema>`, fits: pg_notify refuses a longer channel. */
export const MAX_SCHEMA_NAME_LENGTH = MAX_IDENTIFIER_BYTES - CHANNEL_PREFIX.length;

/**
 * The LISTEN/NOTIFY channel of a schema, `walbox_<schema>`. A schema name over 56 characters is refused:
 * its channel would be over 63 bytes, which pg_notify() rejects ("channel name too long"), so every append
 * would fail after a migration that worked.
 */
export function channelFor(schema: unknown): string {
  assertIdentifier('schema', schema);
  if (schema.length > MAX_SCHEMA_NAME_LENGTH) {
    throw new InvalidNameError(
      'schema',
      schema,
      `use at most ${MAX_SCHEMA_NAME_LENGTH} characters: the NOTIFY channel "${CHANNEL_PREFIX}<schema>" must fit Postgres's 63-byte identifier limit`,
    );
  }
  return CHANNEL_PREFIX + schema;
}
