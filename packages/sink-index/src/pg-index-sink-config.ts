import { resolveSinkConfig } from '@walbox/sink-kit';
import pg from 'pg';
import { z } from 'zod';
import { IndexSinkConfigError } from './errors.js';
import { indexSinkFields } from './index-sink-config.js';
import { SCHEMA_NAME } from './pg-index-sql.js';

const ms = (max: number) => z.number().int().min(10).max(max);

export const postgresIndexSinkConfigSchema = z
  .object({
    ...indexSinkFields,
    /** The target database; the sink creates a pool and ends it on close(). */
    connectionString: z.string().min(1).optional(),
    /** A pg Pool to it instead; the caller owns it (close() leaves it open). */
    pool: z.instanceof(pg.Pool).optional(),
    /** Pool size when the sink creates the pool. */
    maxConnections: z.number().int().min(1).max(100).default(4),
    /** The schema of the index tables. */
    schema: z
      .string()
      .regex(SCHEMA_NAME, 'must be 1-63 lower-case letters, digits or _')
      .default('walbox_index'),
    /** Creates the schema and tables on first use; else create them with ensureTables() (e.g. in a migration). */
    createTables: z.boolean().default(true),
    /**
     * 'transaction': a database transaction per source transaction (a commit, and its fsync, each).
     * 'batch': one per batch, a savepoint per source transaction (one commit per batch; readers still see
     * source transactions whole, a batch at a time).
     */
    commit: z.enum(['transaction', 'batch']).default('batch'),
    /** How long apply waits for a connection before failing the batch. */
    connectTimeoutMs: ms(600_000).default(2000),
    /** A statement running longer than this fails the batch (statement_timeout). */
    statementTimeoutMs: ms(3_600_000).default(30_000),
  })
  .strict()
  .refine((c) => (c.connectionString === undefined) !== (c.pool === undefined), {
    message: 'give exactly one of connectionString and pool',
    path: ['connectionString'],
  });

export type PostgresIndexSinkConfig = z.input<typeof postgresIndexSinkConfigSchema>;
export type ResolvedPostgresIndexSinkConfig = Readonly<z.output<typeof postgresIndexSinkConfigSchema>>;

export function resolvePostgresIndexSinkConfig(
  input: PostgresIndexSinkConfig,
): ResolvedPostgresIndexSinkConfig {
  return resolveSinkConfig(postgresIndexSinkConfigSchema, input, IndexSinkConfigError);
}
