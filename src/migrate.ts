import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { MigrationError } from './errors.js';
import { assertIdentifier, quoteIdent } from './names.js';

// src/migrate.ts and dist/migrate.js both sit one level below the package root, beside migrations/ and sql/.
const MIGRATIONS_DIR = new URL('../migrations/', import.meta.url);
const SQL_DIR = new URL('../sql/', import.meta.url);
/**
 * The folders of sql/, in the order they are applied: a view can only be created once the functions it calls
 * exist, and privileges are revoked once every object exists.
 */
const SQL_FOLDERS = ['functions', 'views', 'privileges'] as const;
/** Day partitions of the log that migrate() makes sure exist, as 0001 once did: today and the week ahead. */
const PARTITION_DAYS_AHEAD = 7;

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** The current definition of one function or view: a file of sql/, applied with `create or replace`. */
export interface SqlObjectFile {
  /** The path below sql/: "functions/append_json.sql". */
  file: string;
  sql: string;
}

/**
 * `{{schema}}` becomes the validated, double-quoted schema name; `{{schema_raw}}` the bare name, which the SQL
 * uses only inside format('%I') and string literals (the name was validated, so it holds no quote).
 */
function withSchema(text: string, schema: string): string {
  const quoted = quoteIdent('schema', schema);
  return text.replaceAll('{{schema}}', quoted).replaceAll('{{schema_raw}}', schema);
}

export async function loadMigrations(schema: string): Promise<Migration[]> {
  assertIdentifier('schema', schema);
  const files = (await readdir(MIGRATIONS_DIR)).filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f)).sort();
  return Promise.all(
    files.map(async (file) => ({
      version: Number(file.slice(0, 4)),
      name: file.slice(5, -4),
      sql: withSchema(await readFile(new URL(file, MIGRATIONS_DIR), 'utf8'), schema),
    })),
  );
}

/** Every file of sql/: the functions, the views, then the privileges, each folder in file name order. */
export async function loadSqlObjects(schema: string): Promise<SqlObjectFile[]> {
  assertIdentifier('schema', schema);
  const folders = await Promise.all(
    SQL_FOLDERS.map(async (folder) => {
      const dir = new URL(`${folder}/`, SQL_DIR);
      const names = await readdir(dir).catch((err: unknown) => {
        throw new MigrationError(`walbox's SQL files are missing: ${fileURLToPath(dir)} cannot be read`, {
          cause: err,
        });
      });
      const files = names.filter((f) => /^[a-z0-9_]+\.sql$/.test(f)).sort();
      return Promise.all(
        files.map(async (file) => ({
          file: `${folder}/${file}`,
          sql: withSchema(await readFile(new URL(file, dir), 'utf8'), schema),
        })),
      );
    }),
  );
  return folders.flat();
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
 *
 * Then, every time, applies the files of sql/ (see applySqlObjects): the migrations hold the history of the
 * tables, the files the one current definition of each function and view.
 */
export async function migrate(pool: pg.Pool, schema: string): Promise<MigrateResult> {
  const migrations = await loadMigrations(schema);
  const objects = await loadSqlObjects(schema);
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
    await applySqlObjects(client, q, objects, lock, schema);
    return { applied, current: Math.max(0, ...migrations.map((m) => m.version)) };
  } finally {
    client.off('error', onLost);
    client.release(lost); // a lost connection is discarded, not handed to the next caller
  }
}

/**
 * Applies every file of sql/ with `create or replace`, in one transaction under the migrate lock. Without the
 * lock, two migrators replacing the same function at once fail ("tuple concurrently updated": the second
 * updates the pg_proc row the first has just replaced). With it, the second waits, and its first `create or
 * replace` opens pg_proc, which makes it read the invalidations of the first's commit, so it replaces the
 * current row.
 *
 * check_function_bodies is off, as pg_dump sets it for a restore: a `language sql` body is then not planned
 * when it is created, so the function files need no order among themselves (append calls append_one,
 * delivery_lag calls unoffered_entries); test/sql-catalog.int.test.ts checks every body with it on. Views are
 * always checked, so they come after the functions.
 *
 * Last, the day partitions of the log and of the inbox for the coming week. 0001 created them by calling ensure_partitions(), which
 * exists only from here on; creating the missing ones is idempotent (the dispatchers' maintenance does it
 * every hour), so every migrate does it, and a schema whose maintenance has not run for a while gets them.
 */
async function applySqlObjects(
  client: pg.PoolClient,
  q: string,
  objects: SqlObjectFile[],
  lock: () => Promise<unknown>,
  schema: string,
): Promise<void> {
  let step = 'the SQL files';
  try {
    await client.query('begin');
    await lock();
    await client.query('set local check_function_bodies = off');
    for (const object of objects) {
      step = `sql/${object.file}`;
      await client.query(object.sql);
    }
    step = 'ensure_partitions()';
    await client.query(`select ${q}.ensure_partitions($1)`, [PARTITION_DAYS_AHEAD]);
    step = 'inbox_partitions()';
    await client.query(`select count(*) from ${q}.inbox_partitions($1)`, [PARTITION_DAYS_AHEAD]);
    await client.query('commit');
  } catch (err) {
    await client.query('rollback').catch(() => {});
    throw new MigrationError(`${step} failed in schema "${schema}": ${(err as Error).message}`, {
      cause: err,
    });
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
