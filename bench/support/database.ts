import pg from 'pg';
import { createThrowawayPostgres } from '../../packages/throwaway-postgres/src/index.js';

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
  const server = await createThrowawayPostgres({ database: 'walbox_bench', prefix: 'walbox-bench-pg-' });
  try {
    await server.start();
  } catch (err) {
    await server.stop();
    throw err;
  }
  return { url: server.url, source: 'embedded', stop: () => server.stop() };
}

/** The URL without its password, for printing. */
export function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}
