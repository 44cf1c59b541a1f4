// One current definition of every SQL object: numbered migrations hold the tables (history), sql/ holds each
// function and view once, applied on every migrate. A database migrated by walbox 0.1 (whose migrations
// carried the copies) ends up, after migrate(), exactly like one migrated fresh; and the files are what they
// say they are.
import { readdirSync, readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSqlObjects, migrate } from '../src/migrate.js';
import { type CatalogDump, dumpCatalog } from './fixtures/sql-catalog/catalog-dump.js';
import { migrateV01 } from './fixtures/sql-v0.1/migrate-v0.1.js';
import { databaseUrl } from './support/db.js';

const pool = new pg.Pool({ connectionString: databaseUrl(), max: 4 });
pool.on('error', () => {}); // an idle client lost between tests; the next query fails instead
const base = `t_sqlcat_${process.pid}_${Date.now().toString(36)}`;
const created: string[] = [];
afterAll(async () => {
  for (const s of created) await pool.query(`drop schema if exists "${s}" cascade`);
  await pool.end();
});
function schemaNamed(suffix: string): string {
  const name = `${base}_${suffix}`;
  created.push(name);
  return name;
}

const MIGRATIONS = new URL('../migrations/', import.meta.url);
const SQL = new URL('../sql/', import.meta.url);
const read = (dir: URL) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((f) => ({ file: f, text: readFileSync(new URL(f, dir), 'utf8') }));
/** SQL without its comments, lower-cased, for looking for statements. */
const code = (text: string) => text.replace(/--.*$/gm, '').toLowerCase();

describe('a schema migrated by walbox 0.1, then by migrate()', () => {
  let fresh: CatalogDump;
  beforeAll(async () => {
    const s = schemaNamed('fresh');
    await migrate(pool, s);
    fresh = await dumpCatalog(pool, s);
  });

  it('a fresh schema gets every function and view of sql/, and nothing else', () => {
    const files = read(new URL('functions/', SQL)).map((f) => f.file.slice(0, -4));
    expect([...new Set(fresh.functions.map((f) => JSON.parse(f).proname))].sort()).toEqual(files);
    expect(fresh.views.map((v) => JSON.parse(v).relname)).toEqual(['audit']);
    // Today's day partition of the log and the week ahead, as 0001 created them in 0.1.
    expect(fresh.relations.filter((r) => JSON.parse(r).relname.startsWith('entries_p')).length).toBe(8);
  });

  // 9: the released state; 1 to 8: a schema that an earlier build stopped at, which then runs the rest of the
  // numbered migrations as they are now (0005 must drop append_json(json), which 0001 to 0004 created).
  it.each([9, 8, 7, 6, 5, 4, 3, 2, 1])(
    'is identical to a fresh one after 0001 to %i of 0.1',
    async (upTo) => {
      const s = schemaNamed(`up${upTo}`);
      expect(await migrateV01(pool, s, upTo)).toHaveLength(upTo);
      const old = await dumpCatalog(pool, s);
      await migrate(pool, s);
      const upgraded = await dumpCatalog(pool, s);
      expect(upgraded).toEqual(fresh);
      // Not equal by accident: 0.1 left other definitions behind (append_json without the shared checks).
      expect(old.functions).not.toEqual(fresh.functions);
    },
  );
});

describe('the SQL files', () => {
  it('no numbered migration defines a function or view: each lives in one file of sql/', () => {
    for (const { file, text } of read(MIGRATIONS)) {
      expect(code(text), file).not.toMatch(/create\s+(or\s+replace\s+)?(function|view|procedure|trigger)\b/);
    }
  });

  it.each(['functions', 'views'])(
    'each file of sql/%s creates or replaces the one object it is named for',
    (folder) => {
      const kind = folder === 'functions' ? 'function' : 'view';
      for (const { file, text } of read(new URL(`${folder}/`, SQL))) {
        const creates = [...code(text).matchAll(/create\s+(or\s+replace\s+)?(\w+)\s+\{\{schema\}\}\.(\w+)/g)];
        expect(
          creates.map((m) => `${m[1] ? 'create or replace' : 'create'} ${m[2]} ${m[3]}`),
          file,
        ).toEqual([`create or replace ${kind} ${file.slice(0, -4)}`]);
      }
    },
  );

  it('every function body is valid as Postgres checks it on create (migrate applies them unchecked)', async () => {
    const s = schemaNamed('bodies');
    await migrate(pool, s);
    const client = await pool.connect();
    try {
      await client.query('begin');
      await client.query('set local check_function_bodies = on');
      for (const { file, sql } of await loadSqlObjects(s)) {
        await expect(client.query(sql).then(() => file)).resolves.toBe(file);
      }
    } finally {
      await client.query('rollback');
      client.release();
    }
  });

  it('the window, the entry checks and the append locks are inlined into the queries that use them', async () => {
    const s = schemaNamed('inline');
    await migrate(pool, s);
    const client = await pool.connect();
    const plan = async (sql: string) => {
      const { rows } = await client.query(`explain (verbose, format json) ${sql}`);
      return JSON.stringify(rows[0]['QUERY PLAN']);
    };
    try {
      await client.query('begin');
      // Inlined, the window's conditions reach the planner as conditions on the log's columns, the snapshot
      // folded to constants: what entries_reader_idx (namespace, partition, xid) can take.
      const window = await plan(
        `select e.id from "${s}".unoffered_entries('ns', 0, 't', '10:20:12', null, null) e`,
      );
      expect(window).not.toContain('unoffered_entries');
      expect(window).toContain(`xid >= '10'::xid8`);
      expect(window).toContain(`xid >= '20'::xid8`);

      const checks = await plan(
        `select "${s}".entry_fault(x, n) from unnest(array[]::"${s}".append_input[]) x
           left join "${s}".namespaces n on n.name = x.namespace`,
      );
      expect(checks).not.toContain('entry_fault');
      expect(checks).toContain('(x.key IS NULL)');

      const locks = await plan(
        `select "${s}".take_append_lock("${s}".append_lock_id(n.name, 'k'), true) from "${s}".namespaces n`,
      );
      expect(locks).not.toMatch(/take_append_lock|append_lock_id/);
      expect(locks).toContain('pg_advisory_xact_lock(');
    } finally {
      await client.query('rollback');
      client.release();
    }
  });
});
