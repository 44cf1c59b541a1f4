import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll } from 'vitest';

/**
 * A database of its own on the server at `url` (walbox_replica_<random>), dropped after the test file: the
 * replica the sink writes to. Returns its URL and a pool for reading it back.
 */
export async function replicaDatabase(url: string): Promise<{ url: string; pool: pg.Pool }> {
  const name = `walbox_replica_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  admin.on('error', () => {});
  await admin.connect();
  await admin.query(`create database ${name}`);
  const replicaUrl = new URL(url);
  replicaUrl.pathname = `/${name}`;
  const pool = new pg.Pool({ connectionString: replicaUrl.toString(), max: 4 });
  pool.on('error', () => {});
  afterAll(async () => {
    await pool.end();
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.end();
  });
  return { url: replicaUrl.toString(), pool };
}
