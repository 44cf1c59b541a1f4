import pg from 'pg';
import { z } from 'zod';
import { DEFAULT_ENTRY_LIMITS, ENTRY_CEILINGS } from './entry-encoding.js';
import { assertIdentifier } from './names.js';
import { parseOrThrow } from './namespace-config.js';

const MIB = 1024 * 1024;
const int = (min: number, max: number, fallback: number) =>
  z.number().int().min(min).max(max).default(fallback);

/**
 * What append and appendMany accept. Each entry limit may be lowered, not raised: the SQL append path
 * enforces the defaults as constants (sql/functions/entry_fault.sql), and an entry the SDK let through but
 * Postgres refused would abort the caller's transaction.
 */
const limitsSchema = z
  .object({
    maxKeyBytes: int(1, ENTRY_CEILINGS.keyBytes, DEFAULT_ENTRY_LIMITS.maxKeyBytes),
    maxIdempotencyKeyBytes: int(
      1,
      ENTRY_CEILINGS.idempotencyKeyBytes,
      DEFAULT_ENTRY_LIMITS.maxIdempotencyKeyBytes,
    ),
    maxJsonDepth: int(1, ENTRY_CEILINGS.jsonDepth, DEFAULT_ENTRY_LIMITS.maxJsonDepth),
    maxDelayMs: int(0, ENTRY_CEILINGS.delayMs, DEFAULT_ENTRY_LIMITS.maxDelayMs),
    maxBatchEntries: int(1, 1_000_000, DEFAULT_ENTRY_LIMITS.maxBatchEntries),
    maxBatchBytes: int(MIB, 512 * MIB, DEFAULT_ENTRY_LIMITS.maxBatchBytes),
  })
  .strict();

const walboxConfigSchema = z
  .object({
    connectionString: z.string().min(1).optional(),
    pool: z.instanceof(pg.Pool).optional(),
    schema: z.string().default('walbox'),
    /** How long a namespace config read on the append path is reused before it is read again. */
    namespaceCacheMs: z.number().int().min(0).max(3_600_000).default(5000),
    /**
     * Run append's statement as a named prepared statement on pg executors (Kysely and the ORMs run it as
     * usual): parsed and planned once per connection, not per append (~15% of a one-entry append's backend
     * CPU). Off by default: behind a transaction-pooling PgBouncer older than 1.21 (or without
     * max_prepared_statements) the statement may be missing on the next server connection, and the append
     * would fail inside the caller's transaction.
     */
    preparedStatements: z.boolean().default(false),
    /** Limits of the append path: see limitsSchema, docs/api.md and docs/sql.md ("Limits on the SQL append path"). */
    limits: limitsSchema.prefault({}),
    /**
     * Called with errors nobody awaits: an idle connection of the pool walbox created was lost (Postgres
     * restarted, its backend was terminated). Default: the 'error' event of this walbox's running
     * dispatchers, or console.error when there are none. The pool replaces the connection on the next query.
     */
    onError: z.custom<(err: Error) => void>((v) => typeof v === 'function', 'must be a function').optional(),
  })
  .strict()
  .refine((c) => (c.connectionString === undefined) !== (c.pool === undefined), {
    message: 'give exactly one of connectionString or pool',
    path: ['connectionString'],
  });

export type WalboxConfig = z.input<typeof walboxConfigSchema>;
export type ResolvedWalboxConfig = Readonly<z.output<typeof walboxConfigSchema>>;

export function resolveWalboxConfig(input: WalboxConfig): ResolvedWalboxConfig {
  const config = parseOrThrow(walboxConfigSchema, input);
  assertIdentifier('schema', config.schema);
  return Object.freeze({ ...config, limits: Object.freeze(config.limits) });
}
