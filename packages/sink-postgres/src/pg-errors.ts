/**
 * True for a Postgres error about the data of the statement rather than the database or the connection:
 * SQLSTATE class 22 (data exception: a string jsonb cannot hold, \u0000 in text), 23 (integrity: a
 * constraint the user added to a replica table) and 54 (program limit: a key too large for the primary key
 * index). Retrying those cannot help, so the source transaction they belong to fails; anything else (the
 * connection, a timeout, a missing table, a read-only server) fails the batch, which the dispatcher retries.
 */
export function isAboutEntries(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^(22|23|54)[0-9A-Z]{3}$/.test(code);
}
