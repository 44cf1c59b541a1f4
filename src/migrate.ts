import { readdir, readFile } from 'node:fs/promises';
import type pg from 'pg';
import { MigrationError } from './errors.js';
import { quoteIdent } from './names.js';

// src/migrate.ts and dist/migrate.js both sit one level below the package root.
const MIGRATIONS_DIR = new URL('../migrations/', import.meta.url);

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export async function loadMigrations(schema: string): Promise<Migration[]> {
  const quoted = quoteIdent('schema', schema);
  const files = (await readdir(MIGRATIONS_DIR)).filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f)).sort();
  return Promise.all(
    files.map(async (file) => {
      const text = await readFile(new URL(file, MIGRATIONS_DIR), 'utf8');
      return {
        version: Number(file.slice(0, 4)),
        name: file.slice(5, -4),
        // schema_raw is only used inside format('%I') / string literals; the name was validated above.
        sql: text.replaceAll('{{schema}}', quoted).replaceAll('{{schema_raw}}', schema),
      };
    }),
  );
}

export interface MigrateResult {
  applied: string[];
  current: number;
}

/**
 * Applies pending migrations, each in its own transaction, under a session advisory lock so that
 * concurrent migrators serialize: the second waits, then finds nothing left to do.
 */
export async function migrate(pool: pg.Pool, schema: string): Promise<MigrateResult> {
  const migrations = await loadMigrations(schema);
  const q = quoteIdent('schema', schema);
  const client = await pool.connect();
  // A checked-out client has no listener of the pool's: a connection lost between two statements would
  // emit an unhandled 'error' and end the process. The statement that follows fails instead.
  let lost: Error | undefined;
  const onLost = (err: Error) => {
    lost = err;
  };
  client.on('error', onLost);
  const applied: string[] = [];
  try {
    await client.query(`select pg_advisory_lock(hashtext('walbox:migrate'), hashtext($1))`, [schema]);
    try {
      // Inside the lock: a concurrent "create schema if not exists" can still fail on the catalog's unique index.
      await client.query(`create schema if not exists ${q}`);
      await client.query(
        `create table if not exists ${q}.migrations (
           version int primary key, name text not null, applied_at timestamptz not null default now())`,
      );
      const { rows } = await client.query<{ version: number }>(`select version from ${q}.migrations`);
      const done = new Set(rows.map((r) => r.version));
      for (const m of migrations) {
        if (done.has(m.version)) continue;
        // The file name, as in `applied`: "0001_log".
        const label = `${String(m.version).padStart(4, '0')}_${m.name}`;
        try {
          await client.query('begin');
          await client.query(m.sql);
          await client.query(`insert into ${q}.migrations (version, name) values ($1, $2)`, [
            m.version,
            m.name,
          ]);
          await client.query('commit');
        } catch (err) {
          await client.query('rollback').catch(() => {});
          throw new MigrationError(
            `migration ${label} failed in schema "${schema}": ${(err as Error).message}`,
            { cause: err },
          );
        }
        applied.push(label);
      }
      return { applied, current: Math.max(0, ...migrations.map((m) => m.version)) };
    } finally {
      await client.query(`select pg_advisory_unlock(hashtext('walbox:migrate'), hashtext($1))`, [schema]);
    }
  } finally {
    client.off('error', onLost);
    client.release(lost); // a lost connection is discarded, not handed to the next caller
  }
}
