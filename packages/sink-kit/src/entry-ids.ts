/** A bigint id as Postgres prints it: no sign, no leading zeros, at most 19 digits. */
export const ENTRY_ID = /^(0|[1-9][0-9]{0,18})$/;

/** True for an id in ENTRY_ID's form. */
export function isEntryId(id: unknown): id is string {
  return typeof id === 'string' && ENTRY_ID.test(id);
}

/**
 * Compares two ids in ENTRY_ID's form as the numbers they are: by length, then digit by digit. Neither
 * string order ('9' > '10') nor doubles (2^53 + 1 is 2^53) would do. Returns -1, 0 or 1.
 */
export function compareIds(a: string, b: string): -1 | 0 | 1 {
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a === b ? 0 : a < b ? -1 : 1;
}

/** True when `id` is above `stored`, or nothing is stored yet: the version guard's test. */
export function isNewer(id: string, stored: string | null | undefined): boolean {
  return stored === null || stored === undefined || compareIds(id, stored) > 0;
}
