import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll } from 'vitest';

/**
 * A database of its own on the server at `url` (walbox_index_<random>), dropped after the test file: the
 * target database the index sink writes to. Returns its URL and a pool for reading it back.
 */
export async function targetDatabase(url: string): Promise<{ url: string; pool: pg.Pool }> {
  const name = `walbox_index_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  admin.on('error', () => {});
  await admin.connect();
  await admin.query(`create database ${name}`);
  const targetUrl = new URL(url);
  targetUrl.pathname = `/${name}`;
  const pool = new pg.Pool({ connectionString: targetUrl.toString(), max: 4 });
  pool.on('error', () => {});
  afterAll(async () => {
    await pool.end();
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.end();
  });
  return { url: targetUrl.toString(), pool };
}
