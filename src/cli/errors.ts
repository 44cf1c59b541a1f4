import { WalboxError } from '../errors.js';

const HINTS: Record<string, string> = {
  '42P01': 'has `walbox migrate` run on this schema? (see --schema)',
  '3F000': 'has `walbox migrate` run on this schema? (see --schema)',
  '42883': 'has `walbox migrate` run on this schema? (see --schema)',
  '28P01': 'check the user and password in --database-url / DATABASE_URL',
  '3D000': 'check the database name in --database-url / DATABASE_URL',
};

/** The one line printed on stderr for a failed command: `error [CODE]: message` for walbox's typed errors. */
export function describeError(err: unknown): string {
  if (err instanceof WalboxError) return `error [${err.code}]: ${err.message}`;
  const e = err as { code?: unknown; message?: unknown; errors?: unknown; address?: string; port?: number };
  if (e?.code === 'ECONNREFUSED' || e?.code === 'ENOTFOUND' || e?.code === 'ETIMEDOUT') {
    // Node reports a refused dual-stack connection as an AggregateError with an empty message.
    const where = e.address ? ` at ${e.address}${e.port ? `:${e.port}` : ''}` : '';
    return `error: cannot reach Postgres${where} (${String(e.code)}): check --database-url / DATABASE_URL`;
  }
  const message = typeof e?.message === 'string' && e.message !== '' ? e.message : String(err);
  if (typeof e?.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code)) {
    const hint = HINTS[e.code];
    return `error: postgres ${e.code}: ${message}${hint ? `\n  hint: ${hint}` : ''}`;
  }
  return `error: ${message}`;
}

/** A command that ran to its end and exits with a status of its own (e.g. `mutation --exit-code`: 3). */
export class ExitStatus extends Error {
  constructor(readonly status: number) {
    super(`exit status ${status}`);
  }
}
