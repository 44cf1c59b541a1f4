import {
  sinkFunction as fn,
  resolveSinkConfig,
  type SinkAction,
  SinkConfigError,
  type SinkEntry,
} from '@walbox/sink-kit';
import pg from 'pg';
import { z } from 'zod';
import type { PostgresMapping } from './kysely-mapping.js';

/** A walbox `Entry`, structurally; the sink reads id, namespace, key, op, payload and xid. */
export type PostgresSinkEntry = SinkEntry;

/** A Postgres identifier the sink quotes: lower case, so it means the same quoted and unquoted. */
export const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
/** A table name: a walbox namespace may hold dots and dashes, which a quoted identifier keeps. */
export const TABLE_NAME = /^[a-z_][a-z0-9_.-]{0,62}$/;

const ms = (max: number) => z.number().int().min(10).max(max);

export const postgresSinkConfigSchema = z
  .object({
    /** The target name the sink reports; defaults to 'postgres'. */
    name: z.string().min(1).max(200).default('postgres'),
    /** The replica database; the sink creates a pool and ends it on close(). */
    connectionString: z.string().min(1).optional(),
    /** A pg Pool to the replica instead; the caller owns it (close() leaves it open). */
    pool: z.instanceof(pg.Pool).optional(),
    /** Pool size when the sink creates the pool. */
    maxConnections: z.number().int().min(1).max(100).default(4),
    /** The schema of the replica tables. */
    schema: z
      .string()
      .regex(SCHEMA_NAME, 'must be 1-63 lower-case letters, digits or _')
      .default('walbox_replica'),
    /** The table of a namespace's keys (in `schema`); defaults to the namespace's name. */
    tableFor: fn<(namespace: string) => string>('(namespace) => string').optional(),
    /** Creates the schema and a namespace's table the first time a batch has its entries; else call ensureTables(). */
    createTables: z.boolean().default(true),
    /**
     * Writes each source transaction to your own tables with Kysely instead of the table per namespace (then
     * schema, tableFor and createTables do not apply). See PostgresMapping.
     */
    mapping: fn<PostgresMapping>('(db, transaction) => Promise<void>').optional(),
    /** What to do with an entry; defaults to its op for 'upsert' and 'delete', and 'skip' for any other op. */
    actionFor: fn<(entry: PostgresSinkEntry) => SinkAction>(
      "(entry) => 'upsert' | 'delete' | 'skip'",
    ).optional(),
    /** How long apply waits for a connection before failing the batch. */
    connectTimeoutMs: ms(600_000).default(2000),
    /** A statement of the replica running longer than this fails the batch (statement_timeout). */
    statementTimeoutMs: ms(3_600_000).default(30_000),
  })
  .strict()
  .refine((c) => (c.connectionString === undefined) !== (c.pool === undefined), {
    message: 'give exactly one of connectionString and pool',
    path: ['connectionString'],
  });

export type PostgresSinkConfig = z.input<typeof postgresSinkConfigSchema>;
export type ResolvedPostgresSinkConfig = Readonly<z.output<typeof postgresSinkConfigSchema>>;

/** A sink config failed validation; `field` is the dotted path of the first bad field. */
export class PostgresSinkConfigError extends SinkConfigError {
  constructor(field: string, message: string, options?: { cause?: unknown }) {
    super(field, message, { ...options, sink: 'postgres' });
    this.name = 'PostgresSinkConfigError';
  }
}

export function resolvePostgresSinkConfig(input: PostgresSinkConfig): ResolvedPostgresSinkConfig {
  return resolveSinkConfig(postgresSinkConfigSchema, input, PostgresSinkConfigError);
}
