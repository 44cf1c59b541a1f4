import type { Command } from 'commander';
import pg from 'pg';
import { Walbox } from '../walbox.js';
import { Output } from './output.js';

export interface GlobalOptions {
  databaseUrl?: string;
  schema: string;
  json: boolean;
}

export function globalOptions(cmd: Command): GlobalOptions {
  const o = cmd.optsWithGlobals<{ databaseUrl?: string; schema: string; json?: boolean }>();
  return { databaseUrl: o.databaseUrl || undefined, schema: o.schema, json: o.json === true };
}

export function output(cmd: Command): Output {
  return new Output(globalOptions(cmd).json);
}

/** A pool on --database-url, with a connect timeout so that an unreachable host fails instead of hanging. */
export function openPool(cmd: Command, databaseUrl: string | undefined): pg.Pool {
  if (!databaseUrl) {
    cmd.error('error: no database: pass --database-url <url> or set DATABASE_URL', { exitCode: 2 });
  }
  const pool = new pg.Pool({ connectionString: databaseUrl, connectionTimeoutMillis: 10_000, max: 4 });
  pool.on('error', () => {}); // an idle client's lost connection surfaces on the next query instead
  return pool;
}

/** Runs `fn` with a Walbox on the global options' database and schema, and closes it afterwards. */
export async function withWalbox<T>(cmd: Command, fn: (walbox: Walbox, out: Output) => Promise<T>) {
  const g = globalOptions(cmd);
  const pool = openPool(cmd, g.databaseUrl);
  try {
    const walbox = new Walbox({ pool, schema: g.schema });
    return await fn(walbox, new Output(g.json));
  } finally {
    await pool.end();
  }
}
