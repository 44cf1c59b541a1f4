import {
  resolveSinkConfig,
  SinkConfigError,
  type SinkEntry,
  sinkFunction,
  sinkObject,
} from '@walbox/sink-kit';
import type { Redis, RedisOptions } from 'ioredis';
import { z } from 'zod';

export const redisStreamSinkConfigSchema = z
  .object({
    /** The target name the sink reports. */
    name: z.string().min(1).max(200).default('redis-stream'),
    /** redis:// or rediss:// URL; the sink creates the client (failing fast) and quits it on close(). */
    url: z
      .string()
      .regex(/^rediss?:\/\//, { message: 'must start with redis:// or rediss://' })
      .optional(),
    /** An ioredis client of yours instead of `url` (close() leaves it open). A single server: no Cluster. */
    client: z
      .custom<Redis>(
        (v) =>
          typeof v === 'object' &&
          v !== null &&
          typeof (v as { pipeline?: unknown }).pipeline === 'function' &&
          (v as { isCluster?: unknown }).isCluster !== true,
        { message: 'must be an ioredis Redis client (not a Cluster)' },
      )
      .optional(),
    /** Extra ioredis options for the client made from `url` (TLS, credentials, db...). */
    redisOptions: sinkObject<RedisOptions>().optional(),
    /**
     * The stream an entry goes to: a template with {namespace} and {key}, or a function of them. All entries
     * of one (namespace, key) must go to one stream: order is kept per key within its stream.
     */
    stream: z
      .union([
        z.string().min(1).max(1000),
        sinkFunction<(entry: Pick<SinkEntry, 'namespace' | 'key'>) => string>(
          '({ namespace, key }) => string',
        ),
      ])
      .default('walbox:{namespace}'),
    /** Appended to a stream's name to name the hash holding the last entry id added per key (the guard). */
    guardSuffix: z.string().min(1).max(100).default(':walbox-last-ids'),
    /** Trim each stream to about this many entries on every XADD (MAXLEN); none when unset. */
    maxLen: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional(),
    /** `MAXLEN ~` (default: Redis trims whole nodes, cheaper) or `MAXLEN =` (exact). */
    exactMaxLen: z.boolean().default(false),
    /** The fields of an entry's stream message; defaults to id, namespace, key, op, xid, payload (JSON), headers. */
    fields: sinkFunction<(entry: SinkEntry) => Record<string, string | Buffer>>(
      '(entry) => Record<string, string | Buffer>',
    ).optional(),
    /** A command without a reply after this long fails the batch (client made from `url` only). */
    commandTimeoutMs: z.number().int().min(10).max(600_000).default(10_000),
    /** How long connecting may take (client made from `url` only). */
    connectTimeoutMs: z.number().int().min(10).max(600_000).default(2000),
  })
  .strict()
  .refine((c) => (c.url === undefined) !== (c.client === undefined), {
    message: 'give exactly one of url and client',
    path: ['url'],
  });

export type RedisStreamSinkConfig = z.input<typeof redisStreamSinkConfigSchema>;
export type ResolvedRedisStreamSinkConfig = Readonly<z.output<typeof redisStreamSinkConfigSchema>>;

/** A Redis Streams sink config failed validation; `field` names the first bad field. */
export class RedisStreamSinkConfigError extends SinkConfigError {
  constructor(field: string, message: string, options?: { cause?: unknown }) {
    super(field, message, { ...options, sink: 'redis stream' });
    this.name = 'RedisStreamSinkConfigError';
  }
}

export function resolveRedisStreamSinkConfig(input: RedisStreamSinkConfig): ResolvedRedisStreamSinkConfig {
  return resolveSinkConfig(redisStreamSinkConfigSchema, input, RedisStreamSinkConfigError);
}
