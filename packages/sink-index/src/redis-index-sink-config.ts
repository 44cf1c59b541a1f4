import { sinkObject as object, resolveSinkConfig } from '@walbox/sink-kit';
import type { Cluster, Redis, RedisOptions } from 'ioredis';
import { z } from 'zod';
import { IndexSinkConfigError } from './errors.js';
import { indexSinkFields } from './index-sink-config.js';

const ms = z.number().int().min(10).max(600_000);

export const redisIndexSinkConfigSchema = z
  .object({
    ...indexSinkFields,
    /** redis:// or rediss:// URL; the sink creates the client and quits it on close(). */
    url: z
      .string()
      .regex(/^rediss?:\/\//, { message: 'must start with redis:// or rediss://' })
      .optional(),
    /** An ioredis client (Redis or Cluster) instead; the caller owns it (close() leaves it open). */
    client: z
      .custom<Redis | Cluster>(
        (v) =>
          typeof v === 'object' &&
          v !== null &&
          typeof (v as { defineCommand?: unknown }).defineCommand === 'function',
        { message: 'must be an ioredis client' },
      )
      .optional(),
    /** Extra ioredis options for the client created from `url` (TLS, credentials...). */
    redisOptions: object<RedisOptions>().optional(),
    /** Prepended to every key; the namespace follows in braces (the Cluster hash tag), so none here. */
    keyPrefix: z
      .string()
      .max(1000)
      .regex(/^[^{}]*$/, 'must not contain { or }')
      .default('walbox-index:'),
    /** How long a command may go unanswered, and a connection attempt take, before the batch fails. */
    commandTimeoutMs: ms.default(10_000),
    connectTimeoutMs: ms.default(2000),
  })
  .strict()
  .refine((c) => (c.url === undefined) !== (c.client === undefined), {
    message: 'give exactly one of url and client',
    path: ['url'],
  });

export type RedisIndexSinkConfig = z.input<typeof redisIndexSinkConfigSchema>;
export type ResolvedRedisIndexSinkConfig = Readonly<z.output<typeof redisIndexSinkConfigSchema>>;

export function resolveRedisIndexSinkConfig(input: RedisIndexSinkConfig): ResolvedRedisIndexSinkConfig {
  return resolveSinkConfig(redisIndexSinkConfigSchema, input, IndexSinkConfigError);
}
