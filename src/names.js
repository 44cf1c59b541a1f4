import { InvalidNameError } from './errors.js';
// Lower-case only, so that a name means the same quoted and unquoted, and under Postgres's 63-byte limit.
const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;
/** Namespaces and targets may also carry dots and dashes ("billing.invoices", "redis-cache"). */
export const LOGICAL_NAME = /^[a-z][a-z0-9_.-]{0,62}$/;
/** Validates a Postgres identifier (schema, table, column) and returns it double-quoted. */
export function quoteIdent(kind, name) {
    assertIdentifier(kind, name);
    return `"${name}"`;
}
export function assertIdentifier(kind, name) {
    if (typeof name !== 'string' || !IDENTIFIER.test(name)) {
        throw new InvalidNameError(kind, name, 'use 1-63 lower-case letters, digits or _, not starting with a digit');
    }
}
export function assertLogicalName(kind, name) {
    if (typeof name !== 'string' || !LOGICAL_NAME.test(name)) {
        throw new InvalidNameError(kind, name, 'use 1-63 lower-case letters, digits, _, . or -, starting with a letter');
    }
}
/** "table" or "schema.table", each part validated; returns the quoted, qualified name. */
export function quoteQualified(kind, name) {
    if (typeof name !== 'string')
        throw new InvalidNameError(kind, name, 'expected a string');
    const parts = name.split('.');
    if (parts.length > 2)
        throw new InvalidNameError(kind, name, 'expected "table" or "schema.table"');
    return parts.map((part) => quoteIdent(kind, part)).join('.');
}
//# sourceMappingURL=names.js.map