import type pg from 'pg';
import { MigrationError } from '../errors.js';
import { loadMigrations } from '../migrate.js';
import { quoteIdent } from '../names.js';

/**
 * Refuses to dispatch from a schema that `walbox migrate` has not brought up to this version: the dispatcher
 * would otherwise start, create pg-boss's tables beside it, and log the same missing-table error forever.
 */
export async function assertMigrated(pool: pg.Pool, schema: string): Promise<void> {
  const q = quoteIdent('schema', schema);
  const { rows } = await pool.query<{ exists: boolean }>('select to_regclass($1) is not null as exists', [
    `${q}.migrations`,
  ]);
  if (!rows[0]?.exists) {
    throw new MigrationError(
      `schema "${schema}" has no walbox tables: run \`walbox migrate\` first (or check --schema)`,
    );
  }
  const done = await pool.query<{ version: number }>(`select version from ${q}.migrations`);
  const applied = new Set(done.rows.map((r) => r.version));
  const pending = (await loadMigrations(schema)).filter((m) => !applied.has(m.version));
  if (pending.length > 0) {
    throw new MigrationError(
      `schema "${schema}" lacks ${pending.length} migration(s) of this walbox version: run \`walbox migrate\` first`,
    );
  }
}
