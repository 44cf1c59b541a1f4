import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll } from 'vitest';
import { freePort } from './free-port.js';
import { serverPath } from './required-servers.js';
import { type SpawnedServer, spawnServer } from './servers.js';

export type PoolMode = 'session' | 'transaction' | 'statement';

export interface PgBouncerOptions {
  /** The Postgres to forward to: its host, port, database, user and password are taken from this URL. */
  databaseUrl: string;
  poolMode?: PoolMode;
  /** Server connections per (database, user): pgbouncer's default_pool_size. */
  poolSize?: number;
  /**
   * More [pgbouncer] settings, overriding the ones written here: e.g. `{ max_prepared_statements: 100 }`
   * (1.21+), `{ server_login_retry: 15 }` (its default), `{ query_wait_timeout: 5 }`.
   */
  settings?: Readonly<Record<string, string | number>>;
}

/** A PgBouncer this test file started, on a loopback port it keeps across stop() and start(). */
export interface PgBouncer extends SpawnedServer {
  /** postgres://<user>@127.0.0.1:<port>/<database>: the target database through the pooler (trust auth). */
  readonly url: string;
  /** Its admin console, same user: SHOW POOLS, SHOW SERVERS, PAUSE, RESUME, RECONNECT, KILL ... */
  readonly adminUrl: string;
  readonly poolMode: PoolMode;
  /** Of the binary, e.g. "1.18.0": before 1.21 it cannot carry prepared statements in transaction mode. */
  readonly version: string;
  /** The temporary directory holding pgbouncer.ini and userlist.txt; removed after the test file. */
  readonly dir: string;
}

/**
 * A private pgbouncer (the binary required-servers.ts finds; callers skip with `canStart('pgbouncer')`)
 * listening on a free 127.0.0.1 port with trust auth, forwarding the database of `databaseUrl` to its
 * Postgres as the URL's user (with its password, if any). Resolves once a query through it succeeds;
 * stopped (SIGTERM, SIGKILL after 5 s) after the test file, or killed when the worker exits first.
 */
export async function startPgBouncer(options: PgBouncerOptions): Promise<PgBouncer> {
  const { databaseUrl, poolMode = 'transaction', poolSize = 20, settings = {} } = options;
  const target = parseTarget(databaseUrl);
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'walbox-pgbouncer-'));
  // pgbouncer refuses to run as root; told to, it switches to another user, who must read its files.
  await chmod(dir, 0o755);
  const dbParams = [
    ['host', target.host],
    ['port', String(target.port)],
    ['dbname', target.database],
    ['user', target.user],
    ...(target.password === undefined ? [] : [['password', target.password]]),
  ];
  const ini = {
    listen_addr: '127.0.0.1',
    listen_port: port,
    unix_socket_dir: '', // no socket file to write
    auth_type: 'trust', // the user must still be in auth_file
    auth_file: join(dir, 'userlist.txt'),
    admin_users: target.user,
    pool_mode: poolMode,
    default_pool_size: poolSize,
    max_client_conn: 1000,
    ignore_startup_parameters: 'extra_float_digits',
    // Its default, 15 s, leaves clients failing that long after one failed login (a restarting Postgres).
    server_login_retry: 1,
    ...settings,
  };
  await writeFile(
    join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `${target.database} = ${dbParams.map(([k, v]) => `${k}=${quoteValue(v!)}`).join(' ')}`,
      '[pgbouncer]',
      ...Object.entries(ini).map(([k, v]) => `${k} = ${v}`),
      '',
    ].join('\n'),
    { mode: 0o644 },
  );
  await writeFile(
    join(dir, 'userlist.txt'),
    `${quoteUserlist(target.user)} ${quoteUserlist(target.password ?? '')}\n`,
    { mode: 0o644 },
  );
  const url = `postgres://${encodeURIComponent(target.user)}@127.0.0.1:${port}/${target.database}`;
  dirs.add(dir);
  // pgbouncer refuses to run as root; told to (-u), it switches to another user.
  const user = process.getuid?.() === 0 ? ['-u', unprivilegedUser()] : [];
  const server = await spawnServer({
    binary: 'pgbouncer',
    args: [...user, join(dir, 'pgbouncer.ini')],
    port,
    ready: (timeoutMs) => answers(url, timeoutMs),
  });
  return Object.assign(server, {
    url,
    adminUrl: `postgres://${encodeURIComponent(target.user)}@127.0.0.1:${port}/pgbouncer`,
    poolMode,
    version: pgBouncerVersion(),
    dir,
  });
}

/** "1.18.0", from `pgbouncer --version`. */
export function pgBouncerVersion(): string {
  version ??= /PgBouncer (\S+)/.exec(execFileSync(binary(), ['--version'], { encoding: 'utf8' }))?.[1] ?? '0';
  return version;
}
let version: string | undefined;

/** True when the installed pgbouncer is at least `wanted` ("1.21"). */
export function pgBouncerAtLeast(wanted: string): boolean {
  const have = pgBouncerVersion().split('.').map(Number);
  const want = wanted.split('.').map(Number);
  for (let i = 0; i < want.length; i++) {
    if ((have[i] ?? 0) !== want[i]) return (have[i] ?? 0) > want[i]!;
  }
  return true;
}

interface Target {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string | undefined;
}

function parseTarget(databaseUrl: string): Target {
  const u = new URL(databaseUrl);
  const database = decodeURIComponent(u.pathname.slice(1));
  // The name is the key of its line in pgbouncer.ini: keep it to what needs no quoting there.
  if (!/^[A-Za-z0-9_]+$/.test(database))
    throw new Error(`startPgBouncer: database name ${JSON.stringify(database)} is not [A-Za-z0-9_]+`);
  return {
    host: u.hostname || u.searchParams.get('host') || '127.0.0.1',
    port: Number(u.port || 5432),
    database,
    user: decodeURIComponent(u.username) || 'postgres',
    password: u.password ? decodeURIComponent(u.password) : undefined,
  };
}

/** A value in a [databases] line: in single quotes, a quote doubled. */
function quoteValue(v: string): string {
  if (/[\r\n]/.test(v)) throw new Error('startPgBouncer: a line break in a connection setting');
  return `'${v.replaceAll("'", "''")}'`;
}

/** A field of userlist.txt: in double quotes, a quote doubled. */
function quoteUserlist(v: string): string {
  return `"${v.replaceAll('"', '""')}"`;
}

function binary(): string {
  const path = serverPath('pgbouncer');
  if (!path) throw new Error('pgbouncer not found: apt-get install pgbouncer (test with canStart first)');
  return path;
}

/** The user pgbouncer switches to when run as root: postgres where it exists (Debian's package adds it). */
function unprivilegedUser(): string {
  try {
    if (/^postgres:/m.test(readFileSync('/etc/passwd', 'utf8'))) return 'postgres';
  } catch {}
  return 'nobody';
}

// The directories of the pgbouncers this file started, removed after it (servers.ts stops the processes).
const dirs = new Set<string>();
afterAll(async () => {
  await Promise.all([...dirs].map((dir) => rm(dir, { recursive: true, force: true })));
});

/** Resolves once a query through the pooler succeeds (it reached Postgres). */
async function answers(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.query('select 1');
      return;
    } catch (err) {
      if (Date.now() > deadline)
        throw new Error(`pgbouncer did not answer a query at ${url} within ${timeoutMs} ms`, { cause: err });
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      await client.end().catch(() => {});
    }
  }
}
