import type pg from 'pg';
import { afterAll } from 'vitest';

/**
 * A schema for a test file's business tables, beside its walbox schema, dropped after the file.
 * Register it after isolatedWalbox(): after-hooks run in reverse order, so the pool is still open then.
 */
export async function businessSchema(pool: pg.Pool, walboxSchema: string): Promise<string> {
  const name = `${walboxSchema}_biz`;
  await pool.query(`create schema "${name}"`);
  afterAll(async () => {
    await pool.query(`drop schema if exists "${name}" cascade`);
  });
  return name;
}
