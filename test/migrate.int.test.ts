import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { InvalidNameError, MigrationError, Walbox } from '../src/index.js';
import { migrate } from '../src/migrate.js';
import { databaseUrl, isolatedWalbox } from './support/db.js';

const { pool, walbox, schema } = await isolatedWalbox('migrate');

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Every migration file, as migrate() reports them: ['0001_log', '0002_audit_capture', ...]. */
const ALL = readdirSync(new URL('../migrations/', import.meta.url))
  .filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f))
  .sort()
  .map((f) => f.slice(0, -4));
const CURRENT = Number(ALL.at(-1)!.slice(0, 4));
const RECORDED = ALL.map((m) => ({ version: Number(m.slice(0, 4)), name: m.slice(5) }));

const created: string[] = [];
afterAll(async () => {
  for (const s of created) await pool.query(`drop schema if exists "${s}" cascade`);
});
/** A schema name nobody has migrated yet, dropped after the file. */
function freshSchema(suffix: string): string {
  const name = `${schema}_${suffix}`;
  created.push(name);
  return name;
}

async function recorded(s: string) {
  const { rows } = await pool.query(`select version, name from "${s}".migrations order by version`);
  return rows;
}

describe('migrate', () => {
  it('is a no-op when the schema is up to date', async () => {
    expect(await walbox.migrate()).toEqual({ applied: [], current: CURRENT });
    expect(await recorded(schema)).toEqual(RECORDED);
  });

  it('applies every migration to a fresh schema once, then nothing', async () => {
    const fresh = freshSchema('fresh');
    const w = new Walbox({ pool, schema: fresh });
    expect(ALL.slice(0, 2)).toEqual(['0001_log', '0002_audit_capture']);
    expect(await w.migrate()).toEqual({ applied: ALL, current: CURRENT });
    expect(await w.migrate()).toEqual({ applied: [], current: CURRENT });
    expect(await recorded(fresh)).toEqual(RECORDED);
    await w.namespaces.upsert({ name: 'works' });
    expect(await w.append(pool, { namespace: 'works', key: 'k', op: 'upsert' })).toMatchObject({ key: 'k' });
  });

  it('succeeds in every one of several processes migrating a fresh schema at once', async () => {
    const fresh = freshSchema('race');
    const children = Array.from({ length: 4 }, () => startChild(fresh));
    try {
      await Promise.all(children.map((c) => c.ready));
      for (const c of children) c.go();
      const results = await Promise.all(children.map((c) => c.done));
      for (const r of results) expect(r.code, r.stderr).toBe(0);
      const outcomes = results.map((r) => JSON.parse(r.stdout.trim().split('\n').at(-1)!));
      expect(outcomes.map((o) => o.current)).toEqual([CURRENT, CURRENT, CURRENT, CURRENT]);
      // Each migration was applied by exactly one process; the others found nothing left to do.
      expect(outcomes.flatMap((o) => o.applied).sort()).toEqual(ALL);
    } finally {
      for (const c of children) c.abandon();
    }
    expect(await recorded(fresh)).toEqual(RECORDED);
  });

  it('applies the SQL files on every migrate: a function changed by hand gets its definition back', async () => {
    const def = async () => {
      const { rows } = await pool.query(`select pg_get_functiondef($1::regprocedure) as def`, [
        `"${schema}".partition_of(text, int, text)`,
      ]);
      return rows[0].def as string;
    };
    const current = await def();
    await pool.query(
      `create or replace function "${schema}".partition_of(p_key text, p_partitions int, p_ordering text)
       returns int language sql immutable as 'select 0'`,
    );
    expect(await def()).not.toEqual(current);
    expect(await walbox.migrate()).toEqual({ applied: [], current: CURRENT });
    expect(await def()).toEqual(current);
  });

  it('succeeds in every one of several processes applying the SQL files at once, again and again', async () => {
    // Without the migrate lock around them, concurrent `create or replace function` of the same function
    // fails with "tuple concurrently updated".
    const children = Array.from({ length: 4 }, () => startChild(schema, 5));
    try {
      await Promise.all(children.map((c) => c.ready));
      for (const c of children) c.go();
      const results = await Promise.all(children.map((c) => c.done));
      for (const r of results) expect(r.code, r.stderr).toBe(0);
      const outcomes = results.flatMap((r) =>
        r.stdout
          .trim()
          .split('\n')
          .slice(1)
          .map((l) => JSON.parse(l)),
      );
      expect(outcomes).toEqual(Array.from({ length: 20 }, () => ({ applied: [], current: CURRENT })));
    } finally {
      for (const c of children) c.abandon();
    }
  });

  it('creates the day partitions beside another creator (a dispatcher maintaining) without failing', async () => {
    // migrate() and the dispatchers' maintenance both call ensure_partitions(), with no lock in common.
    const first = await pool.connect();
    const second = await pool.connect();
    try {
      await first.query('begin');
      // Two days past the week that migrate created: the first creator holds them, uncommitted.
      const { rows } = await first.query(`select "${schema}".ensure_partitions(9) as created`);
      expect(rows).toEqual([{ created: 2 }]);
      const { rows: pids } = await second.query('select pg_backend_pid() as pid');
      const racing = second.query(`select "${schema}".ensure_partitions(9) as created`).then(
        (r) => r.rows,
        (err: Error) => err,
      );
      let settled = false;
      void racing.then(() => {
        settled = true;
      });
      // It saw no such days, and now waits to create them.
      while (!settled) {
        const { rows: waiting } = await pool.query(
          `select 1 from pg_stat_activity where pid = $1 and wait_event_type = 'Lock'`,
          [pids[0].pid],
        );
        if (waiting.length > 0) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(settled).toBe(false);
      await first.query('commit');
      expect(await racing).toEqual([{ created: 0 }]);
    } finally {
      await first.query('rollback').catch(() => {});
      first.release();
      second.release();
    }
  });

  it('rolls a failed migration back whole, reports MIGRATION_FAILED and releases its lock', async () => {
    const fresh = freshSchema('clash');
    // A table already in the way makes 0001 fail part-way through.
    await pool.query(`create schema "${fresh}"`);
    await pool.query(`create table "${fresh}".namespaces (mine int)`);
    const w = new Walbox({ pool, schema: fresh });
    const err = await w.migrate().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MigrationError);
    expect(err).toMatchObject({ code: 'MIGRATION_FAILED' });
    expect((err as Error).message).toContain('0001_log');
    expect(await recorded(fresh)).toEqual([]);
    const { rows } = await pool.query('select to_regclass($1) as entries', [`"${fresh}".entries`]);
    expect(rows).toEqual([{ entries: null }]);

    // Another process (its own pool and connection) can migrate once the obstacle is gone: the lock is free.
    await pool.query(`drop table "${fresh}".namespaces`);
    const other = new Walbox({ connectionString: databaseUrl(), schema: fresh });
    try {
      expect(await other.migrate()).toEqual({ applied: ALL, current: CURRENT });
    } finally {
      await other.close();
    }
  });

  it.each(['Walbox', 'my-schema', 'walbox"; drop schema public; --', ''])(
    'rejects the schema name %j before any SQL runs',
    async (bad) => {
      expect(() => new Walbox({ connectionString: databaseUrl(), schema: bad })).toThrow(InvalidNameError);

      const spyPool = new pg.Pool({ connectionString: databaseUrl() });
      const connect = vi.spyOn(spyPool, 'connect');
      const query = vi.spyOn(spyPool, 'query');
      try {
        await expect(migrate(spyPool, bad)).rejects.toMatchObject({ code: 'INVALID_NAME' });
        expect(connect).not.toHaveBeenCalled();
        expect(query).not.toHaveBeenCalled();
      } finally {
        await spyPool.end();
      }
      const { rows } = await pool.query('select 1 from pg_namespace where nspname = $1', [bad]);
      expect(rows).toEqual([]);
    },
  );
});

/**
 * Starts test/fixtures/migrate-child.ts in its own process; it connects, then waits for go() to migrate
 * `times` times in a row.
 */
function startChild(target: string, times = 1) {
  const child = spawn(
    'npx',
    ['tsx', 'test/fixtures/migrate-child.ts', databaseUrl(), target, String(times)],
    {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    stderr += d;
  });
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: string) => {
      stdout += d;
      if (stdout.startsWith('ready\n')) resolve();
    });
    void done.then((r) => reject(new Error(`child exited (${r.code}) before it was ready: ${r.stderr}`)));
  });
  return {
    ready,
    done,
    go: () => child.stdin.end('go\n'),
    /** Lets a child that never got "go" exit: it fails on the closed stdin. */
    abandon: () => {
      if (child.stdin.writable) child.stdin.end();
    },
  };
}
