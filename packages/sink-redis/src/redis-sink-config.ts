import {
  sinkFunction as fn,
  sinkObject as object,
  resolveSinkConfig,
  type SinkAction,
  SinkConfigError,
  type SinkEntry,
  sinkSeconds,
} from '@walbox/sink-kit';
import type { Cluster, ClusterOptions, Redis, RedisOptions } from 'ioredis';
import { z } from 'zod';
import { KEY_ESCAPE } from './redis-keys.js';

/** A walbox `Entry`, structurally (so the package needs no walbox import); the sink reads id, namespace, key, op, payload. */
export type RedisSinkEntry = SinkEntry;

/** What the sink does with an entry: SET its value, DEL its key, or nothing. */
export type RedisSinkAction = SinkAction;

const redisUrl = z.string().regex(/^rediss?:\/\//, { message: 'must start with redis:// or rediss://' });

const seconds = sinkSeconds(10 * 365 * 24 * 3600);

export const redisSinkConfigSchema = z
  .object({
    /** The target name the sink reports; defaults to 'redis'. */
    name: z.string().min(1).max(200).default('redis'),
    /** redis:// or rediss:// URL; the sink creates the client, configured to fail fast, and quits it on close(). */
    url: redisUrl.optional(),
    /** A Redis Cluster: the sink creates an ioredis Cluster client from these seed nodes, as with `url`. */
    cluster: z
      .object({
        /** redis:// or rediss:// URLs of some nodes; ioredis discovers the others from them. */
        nodes: z.array(redisUrl).min(1).max(1000).readonly(),
        /** Extra ioredis Cluster options (natMap, dnsLookup, scaleReads...). */
        options: object<ClusterOptions>().optional(),
      })
      .strict()
      .optional(),
    /** An ioredis client (Redis or Cluster) to use instead of `url`; the caller owns it (close() leaves it open). */
    client: z
      .custom<Redis | Cluster>(
        (v) =>
          typeof v === 'object' &&
          v !== null &&
          typeof (v as { pipeline?: unknown }).pipeline === 'function' &&
          typeof (v as { evalsha?: unknown }).evalsha === 'function',
        { message: 'must be an ioredis client' },
      )
      .optional(),
    /**
     * Extra ioredis options for the client created from `url`, or for each node's connection of `cluster`
     * (e.g. `protocol: 2` for Redis below 6, TLS, credentials).
     */
    redisOptions: object<RedisOptions>().optional(),
    /** Prepended to every key the sink writes. */
    keyPrefix: z.string().max(1000).default('walbox:'),
    /** The key (after keyPrefix) of an entry; defaults to `${namespace}:${key}`. */
    keyFor: fn<(entry: RedisSinkEntry) => string>('(entry) => string').optional(),
    /**
     * Puts the part of the key after keyPrefix in a hash tag, `${keyPrefix}{${namespace}:${key}}`, so that a value
     * key and its version key share a Redis Cluster slot. Defaults to true with `cluster` or a Cluster `client`,
     * false otherwise (the keys of 0.1.0).
     */
    hashTag: z.boolean().optional(),
    /**
     * Appended to a value key to name the key holding its version (the id of the last entry applied). It may
     * not end with `~` (the escape of key names that end with the suffix) or `}` (the end of a hash tag).
     */
    versionSuffix: z
      .string()
      .min(1)
      .max(100)
      .refine((s) => !s.endsWith(KEY_ESCAPE) && !s.endsWith('}'), {
        message: `must not end with ${KEY_ESCAPE} or }: value and version keys could then collide`,
      })
      .default('#version'),
    /** The string SET for an upsert; defaults to JSON.stringify(payload). */
    valueFor: fn<(entry: RedisSinkEntry) => string | Buffer>('(entry) => string | Buffer').optional(),
    /** What to do with an entry; defaults to its op for 'upsert' and 'delete', and 'skip' for any other op. */
    actionFor: fn<(entry: RedisSinkEntry) => RedisSinkAction>(
      "(entry) => 'upsert' | 'delete' | 'skip'",
    ).optional(),
    /** Expiry of upserted values and their versions; none when unset. */
    ttlSeconds: seconds.optional(),
    /**
     * Expiry of the version a delete leaves behind (its tombstone); none when unset. Set it longer than the
     * longest time an old entry can still be delivered (retries, dead-letter redrives, replays).
     */
    tombstoneTtlSeconds: seconds.optional(),
    /** How long apply waits for a connection before failing the batch. */
    connectTimeoutMs: z.number().int().min(10).max(600_000).default(2000),
    /** A command without a reply after this long fails (client created from `url` or `cluster` only). */
    commandTimeoutMs: z.number().int().min(10).max(600_000).default(10_000),
  })
  .strict()
  .refine((c) => [c.url, c.cluster, c.client].filter((v) => v !== undefined).length === 1, {
    message: 'give exactly one of url, cluster and client',
    path: ['url'],
  })
  .transform((c) => {
    const isCluster = c.cluster !== undefined || c.client?.isCluster === true;
    return { ...c, hashTag: c.hashTag ?? isCluster, isCluster };
  })
  .superRefine((c, ctx) => {
    // On a cluster the version guard's two keys must be in one slot, which only the hash tag ensures.
    if (c.isCluster && !c.hashTag)
      ctx.addIssue({ code: 'custom', path: ['hashTag'], message: 'must be true on a Redis Cluster' });
    // A brace in the prefix would start the hash tag before the one the sink puts around the entry.
    if (c.hashTag && /[{}]/.test(c.keyPrefix))
      ctx.addIssue({ code: 'custom', path: ['keyPrefix'], message: 'must not contain { or } with hashTag' });
  });

export type RedisSinkConfig = z.input<typeof redisSinkConfigSchema>;
export type ResolvedRedisSinkConfig = Readonly<z.output<typeof redisSinkConfigSchema>>;

/** A sink config failed validation; `field` is the dotted path of the first bad field. */
export class RedisSinkConfigError extends SinkConfigError {
  constructor(field: string, message: string, options?: { cause?: unknown }) {
    super(field, message, { ...options, sink: 'redis' });
    this.name = 'RedisSinkConfigError';
  }
}

export function resolveRedisSinkConfig(input: RedisSinkConfig): ResolvedRedisSinkConfig {
  return resolveSinkConfig(redisSinkConfigSchema, input, RedisSinkConfigError);
}
