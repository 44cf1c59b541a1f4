import type pg from 'pg';
import { expect } from 'vitest';
import { WalboxError } from '../../src/errors.js';
import { countEntries } from '../support/entries.js';

let markers = 0;

/** A business table beside the walbox schema, to prove the caller's transaction outlives a refusal. */
export async function notesTable(pool: pg.Pool, business: string): Promise<void> {
  await pool.query(`create table if not exists "${business}".notes (marker text not null)`);
}

/**
 * Runs `attempt` in an open transaction that already wrote a business row. Returns the error it failed with
 * (undefined if it succeeded) after proving that the transaction stayed usable: another write and the commit
 * both work, and both business rows are there. When it failed, the log must hold no new entry.
 */
export async function inOpenTransaction(
  pool: pg.Pool,
  schema: string,
  business: string,
  attempt: (client: pg.PoolClient) => Promise<unknown>,
): Promise<unknown> {
  const marker = `m${process.pid}-${++markers}`;
  const before = await countEntries(pool, schema);
  const client = await pool.connect();
  let error: unknown;
  try {
    await client.query('begin');
    await client.query(`insert into "${business}".notes values ($1)`, [`${marker}-before`]);
    error = await attempt(client).then(
      () => undefined,
      (err: unknown) => err ?? new Error('rejected with nothing'),
    );
    await client.query(`insert into "${business}".notes values ($1)`, [`${marker}-after`]);
    await client.query('commit');
  } finally {
    await client.query('rollback').catch(() => {});
    client.release();
  }
  const { rows } = await pool.query(
    `select marker from "${business}".notes where marker like $1 order by marker`,
    [`${marker}-%`],
  );
  expect(rows.map((r) => r.marker)).toEqual([`${marker}-after`, `${marker}-before`]);
  if (error !== undefined) expect(await countEntries(pool, schema)).toBe(before);
  return error;
}

/** As inOpenTransaction, and the attempt must fail with a WalboxError of `code` (and `field`, if given). */
export async function rejectsTyped(
  pool: pg.Pool,
  schema: string,
  business: string,
  attempt: (client: pg.PoolClient) => Promise<unknown>,
  code: string,
  field?: string,
): Promise<WalboxError> {
  const error = await inOpenTransaction(pool, schema, business, attempt);
  expect(error, 'the attempt should have been refused').toBeInstanceOf(WalboxError);
  expect((error as WalboxError).code).toBe(code);
  if (field !== undefined) expect((error as { field?: string }).field).toBe(field);
  return error as WalboxError;
}
