import { createHash } from 'node:crypto';
import pg from 'pg';
import { afterAll, inject } from 'vitest';
import { Walbox } from '../../src/index.js';

export function databaseUrl(): string {
  return inject('databaseUrl');
}

/**
 * A schema of its own for one test file (so files run in parallel), dropped after the file. Returns a pool,
 * a migrated Walbox in that schema, and the schema name for business tables.
 */
export async function isolatedWalbox(label: string) {
  const schema = `t_${createHash('sha1').update(`${label}:${process.pid}:${Date.now()}:${Math.random()}`).digest('hex').slice(0, 12)}`;
  const pool = new pg.Pool({ connectionString: databaseUrl(), max: 30 });
  const walbox = new Walbox({ pool, schema });
  await walbox.migrate();
  afterAll(async () => {
    await walbox.close();
    await pool.query(`drop schema if exists "${schema}" cascade`);
    await pool.query(`drop schema if exists "${schema}_boss" cascade`);
    await pool.end();
  });
  return { pool, walbox, schema };
}
