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
 * Applies pending migrations, each in its own transaction that first takes a transaction-level advisory lock
 * and checks again whether its version is applied, so that concurrent migrators serialize: the second waits,
 * then finds nothing left to do. Nothing is held between transactions, so it works through PgBouncer in
 * transaction pooling mode too, where a session lock and its unlock could run on different server
 * connections (the lock leaks, and every later migrator waits for it forever).
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
  // The same key as the session lock of earlier versions (the two kinds conflict), so they exclude each other.
  const lock = () =>
    client.query(`select pg_advisory_xact_lock(hashtext('walbox:migrate'), hashtext($1))`, [schema]);
  const applied: string[] = [];
  try {
    await createMigrationsTable(client, q, lock);
    const { rows } = await client.query<{ version: number }>(`select version from ${q}.migrations`);
    const done = new Set(rows.map((r) => r.version));
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      // The file name, as in `applied`: "0001_log".
      const label = `${String(m.version).padStart(4, '0')}_${m.name}`;
      try {
        await client.query('begin');
        await lock();
        // Read after the lock: a migrator that held it may have applied this version since `done` was read.
        const again = await client.query(`select 1 from ${q}.migrations where version = $1`, [m.version]);
        if (again.rows.length > 0) {
          await client.query('commit');
          continue;
        }
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
          {
            cause: err,
          },
        );
      }
      applied.push(label);
    }
    return { applied, current: Math.max(0, ...migrations.map((m) => m.version)) };
  } finally {
    client.off('error', onLost);
    client.release(lost); // a lost connection is discarded, not handed to the next caller
  }
}

/**
 * Creates the schema and its migrations table unless they exist, in a transaction under the lock: without
 * it, a concurrent "create schema if not exists" can still fail on the catalog's unique index. Under the
 * lock it can fail too, once: waiting for an advisory lock does not refresh the catalog cache, so a name
 * this server connection looked up before the other migrator created it can still look free (pg-boss's
 * install has the same race, see startBoss in dispatch/dispatcher.ts). A new transaction reads the
 * catalog afresh and finds what the winner created.
 */
async function createMigrationsTable(client: pg.PoolClient, q: string, lock: () => Promise<unknown>) {
  for (let attempt = 1; ; attempt++) {
    try {
      await client.query('begin');
      await lock();
      await client.query(`create schema if not exists ${q}`);
      await client.query(
        `create table if not exists ${q}.migrations (
           version int primary key, name text not null, applied_at timestamptz not null default now())`,
      );
      await client.query('commit');
      return;
    } catch (err) {
      await client.query('rollback').catch(() => {});
      // unique_violation, duplicate_schema, duplicate_table: the race above, lost to a migrator that committed.
      const code = (err as { code?: string }).code;
      if (attempt >= 3 || !['23505', '42P06', '42P07'].includes(code ?? '')) throw err;
    }
  }
}
