import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { access, copyFile, mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseUrl } from './support/db.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const schema = `t_${createHash('sha1').update(`cli:${process.pid}:${Date.now()}`).digest('hex').slice(0, 12)}`;
let pkg: string;

/**
 * A fresh build of the package in a directory of its own, laid out like the package root (dist/, bin/,
 * migrations/, package.json): the real bin/walbox.js runs the current sources, and neither a stale dist/
 * nor a concurrent `npm run build` can get in the way. Type-checking is `npm run typecheck`'s job.
 */
beforeAll(async () => {
  pkg = await mkdtemp(join(tmpdir(), 'walbox-cli-'));
  const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
  const args = [
    '-p',
    'tsconfig.build.json',
    '--outDir',
    join(pkg, 'dist'),
    '--noCheck',
    '--sourceMap',
    'false',
  ];
  const build = await run(process.execPath, [tsc, ...args, '--declaration', 'false'], ROOT, process.env);
  await access(join(pkg, 'dist/cli/main.js')).catch(() => {
    throw new Error(`building the CLI failed:\n${build.stdout}${build.stderr}`);
  });
  await mkdir(join(pkg, 'bin'));
  await copyFile(join(ROOT, 'bin/walbox.js'), join(pkg, 'bin/walbox.js'));
  for (const link of ['package.json', 'migrations', 'sql', 'node_modules'])
    await symlink(join(ROOT, link), join(pkg, link));
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function walbox(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: databaseUrl(),
    WALBOX_SCHEMA: schema,
    ...env,
  };
  for (const [k, v] of Object.entries(childEnv)) if (v === undefined) delete childEnv[k];
  return run(process.execPath, [join(pkg, 'bin/walbox.js'), ...args], pkg, childEnv);
}

function run(file: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd, env, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

async function json<T = unknown>(args: string[]): Promise<T> {
  const r = await walbox([...args, '--json']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as T;
}

afterAll(async () => {
  if (pkg) await rm(pkg, { recursive: true, force: true });
  const pool = new pg.Pool({ connectionString: databaseUrl() });
  await pool.query(`drop schema if exists "${schema}" cascade`);
  await pool.end();
});

describe('walbox CLI', () => {
  it('--help lists the commands and exits 0; bad usage exits 2 with help on stderr', async () => {
    const [help, missing, unknown, noDb] = await Promise.all([
      walbox(['--help']),
      walbox(['append', 'users']),
      walbox(['frobnicate']),
      walbox(['migrate'], { DATABASE_URL: undefined }),
    ]);
    expect(help.code).toBe(0);
    for (const cmd of [
      'migrate',
      'namespaces',
      'append',
      'capture',
      'dead-letters',
      'replay',
      'audit',
      'status',
      'demo',
    ]) {
      expect(help.stdout).toContain(cmd);
    }
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("error: missing required argument 'key'");
    expect(missing.stderr).toContain('Usage: walbox append');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'frobnicate'");
    expect(noDb.code).toBe(2);
    expect(noDb.stderr).toContain('no database');
  });

  it('migrates, configures a namespace, appends and audits', async () => {
    const migrated = await json<{ applied: string[]; current: number }>(['migrate']);
    expect(migrated.applied.length).toBeGreaterThan(0);
    expect(migrated.applied.length).toBe(migrated.current);
    const again = await walbox(['migrate', '--database-url', databaseUrl()], { DATABASE_URL: undefined });
    expect(again.stdout).toContain(`schema "${schema}" is up to date`);

    const created = await json<{ name: string; targets: string[]; partitions: number; retry: object }>([
      'namespaces',
      'upsert',
      'users',
      '--targets',
      'cache,search',
      '--partitions',
      '4',
    ]);
    expect(created).toMatchObject({ name: 'users', targets: ['cache', 'search'], partitions: 4 });
    // A CLI upsert changes only the fields it names.
    const updated = await json<typeof created>(['namespaces', 'upsert', 'users', '--retry-limit', '3']);
    expect(updated).toMatchObject({ targets: ['cache', 'search'], partitions: 4, retry: { limit: 3 } });
    const list = await walbox(['namespaces', 'list']);
    expect(list.stdout).toMatch(/^users\s+key\s+4\s+cache,search\s/m);

    const first = await json<{ id: string; key: string; actor: string }>([
      'append',
      'users',
      'u1',
      '--payload',
      '{"name":"Ada"}',
      '--actor',
      'ops',
      '--idempotency-key',
      'signup-u1',
    ]);
    expect(first).toMatchObject({ key: 'u1', actor: 'ops' });
    const duplicate = await json<{ id: string }>(['append', 'users', 'u1', '--idempotency-key', 'signup-u1']);
    expect(duplicate.id).toBe(first.id);

    const audit = await json<Array<{ id: string; actor: string; after: unknown; delivery: object }>>([
      'audit',
      '--key',
      'u1',
      '--namespace',
      'users',
    ]);
    expect(audit).toEqual([
      expect.objectContaining({
        id: first.id,
        actor: 'ops',
        after: { name: 'Ada' },
        delivery: { cache: 'pending', search: 'pending' },
      }),
    ]);
    const table = await walbox(['audit', '--key', 'u1']);
    expect(table.stdout).toMatch(/^id\s+changed_at\s+actor\s+namespace\s+key\s+op\s+after\s+delivery$/m);

    // No dispatcher runs here: both targets are one entry behind.
    const status = await json<Array<{ target: string; pending: number; partitions: unknown[] }>>(['status']);
    expect(status.map((t) => [t.target, t.pending, t.partitions.length])).toEqual([
      ['cache', 1, 4],
      ['search', 1, 4],
    ]);
    const human = await walbox(['status', '--namespace', 'users']);
    expect(human.stdout).toMatch(/^namespace\s+target\s+pending\s+lag\s+parked\s+blocked\s+dead\s+failing/m);
    expect(human.stdout).toMatch(/^users\s+cache\s+1\s+\d/m);
    const perPartition = await walbox(['status', '--partitions']);
    expect(perPartition.stdout.trim().split('\n')).toHaveLength(2 + 8);
  });

  it("demo: the README's main command runs end to end in a schema of its own and cleans up", async () => {
    const r = await walbox(['demo']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    for (const line of [
      /^ {3}log {4}6 entries; per key, in commit order: alice #\d+ → #\d+ → #\d+; /m,
      /rolled-back entry #\d+: delivered nowhere/,
      /and `walbox status` tells how far each target is behind/,
      /^ {3}log {5}0 {8}0 {7}0 {5}6$/m,
      /^done in [\d.]+ s\./m,
    ])
      expect(r.stdout).toMatch(line);
    const demoSchema = /schema "(walbox_demo_[a-z0-9]+)" migrated/.exec(r.stdout)?.[1];
    expect(demoSchema).toBeDefined();
    const db = new pg.Client({ connectionString: databaseUrl() });
    await db.connect();
    try {
      const { rows } = await db.query('select nspname from pg_namespace where nspname like $1', [
        `${demoSchema}%`,
      ]);
      expect(rows).toEqual([]);
    } finally {
      await db.end();
    }
  });

  it('prints a typed error as "error [CODE]: message" and exits 1', async () => {
    const [unknownNs, badConfig, badJson, busy, statusOfNone] = await Promise.all([
      walbox(['append', 'nope', 'k1']),
      walbox(['namespaces', 'upsert', 'users', '--partitions', '0']),
      walbox(['append', 'users', 'k1', '--payload', '{not json']),
      // The entry appended above is undelivered (no dispatcher runs here).
      walbox(['namespaces', 'upsert', 'users', '--partitions', '8']),
      walbox(['status', '--namespace', 'nope']),
    ]);
    expect(statusOfNone.code).toBe(1);
    expect(statusOfNone.stderr).toMatch(/^error \[UNKNOWN_NAMESPACE\]: unknown namespace "nope"/);
    expect(unknownNs.code).toBe(1);
    expect(unknownNs.stderr).toMatch(/^error \[UNKNOWN_NAMESPACE\]: unknown namespace "nope"/);
    expect(badConfig.code).toBe(1);
    expect(badConfig.stderr).toMatch(/^error \[INVALID_CONFIG\]: invalid config: partitions: /);
    expect(badJson.code).toBe(1);
    expect(badJson.stderr).toMatch(/^error \[INVALID_ENTRY\]: payload: not valid JSON/);
    expect(busy.code).toBe(1);
    expect(busy.stderr).toMatch(
      /^error \[NAMESPACE_BUSY\]: namespace "users" has 1 undelivered entry .*--force/,
    );
    expect((await json<{ partitions: number }>(['namespaces', 'get', 'users'])).partitions).toBe(4);
    const forced = ['namespaces', 'upsert', 'users', '--partitions', '8', '--force'];
    expect((await json<{ partitions: number }>(forced)).partitions).toBe(8);
  });
});
