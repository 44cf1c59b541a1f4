import {
  sinkFunction as fn,
  resolveSinkConfig,
  type SinkAction,
  SinkConfigError,
  type SinkEntry,
  sinkObject,
  sinkSeconds,
} from '@walbox/sink-kit';
import type memjs from 'memjs';
import { z } from 'zod';

/** A walbox `Entry`, structurally (so the package needs no walbox import); the sink reads id, namespace, key, op, payload. */
export type MemcachedSinkEntry = SinkEntry;

/** What the sink does with an entry: store its value, store a tombstone, or nothing. */
export type MemcachedSinkAction = SinkAction;

/** The part of a memjs client the sink uses: memjs's request path (server choice, retries, timeouts). */
export type MemjsClient = Pick<memjs.Client, 'seq' | 'incrSeq' | 'perform' | 'close'>;

// Memcached reads an expiry above 30 days as a unix time.
const seconds = sinkSeconds(30 * 24 * 3600);

export const memcachedSinkConfigSchema = z
  .object({
    /** The target name the sink reports; defaults to 'memcached'. */
    name: z.string().min(1).max(200).default('memcached'),
    /** Servers as memjs takes them: "[user:pass@]host[:port],..."; the sink creates the client and closes it. */
    servers: z.string().min(1).optional(),
    /** A memjs client to use instead of `servers`; the caller owns it (close() leaves it open). */
    client: z
      .custom<MemjsClient>(
        (v) =>
          typeof v === 'object' &&
          v !== null &&
          typeof (v as { perform?: unknown }).perform === 'function' &&
          typeof (v as { incrSeq?: unknown }).incrSeq === 'function',
        { message: 'must be a memjs client' },
      )
      .optional(),
    /** Extra memjs options for the client created from `servers` (e.g. username, password, failover). */
    memjsOptions: sinkObject<memjs.ClientOptions & memjs.ServerOptions>().optional(),
    /**
     * 'replica': each item holds its key's value (the default). 'invalidate': every change replaces the item
     * with a tombstone that expires after invalidateWindowSeconds, for a cache that readers fill from the
     * source on a miss (see readThrough and the README for the window).
     */
    mode: z.enum(['replica', 'invalidate']).default('replica'),
    /** invalidate mode: the life of a change's tombstone, during which a reader's ADD cannot refill the key. Default 30. */
    invalidateWindowSeconds: seconds.optional(),
    /** Prepended to every key the sink writes. */
    keyPrefix: z.string().max(200).default('walbox:'),
    /** The key (after keyPrefix) of an entry; defaults to `${namespace}:${key}`. At most 250 bytes in all. */
    keyFor: fn<(entry: MemcachedSinkEntry) => string>('(entry) => string').optional(),
    /** The JSON value stored (as `d` of the envelope) for an upsert; defaults to the payload. */
    valueFor: fn<(entry: MemcachedSinkEntry) => unknown>('(entry) => unknown').optional(),
    /** What to do with an entry; defaults to its op for 'upsert' and 'delete', and 'skip' for any other op. */
    actionFor: fn<(entry: MemcachedSinkEntry) => MemcachedSinkAction>(
      "(entry) => 'upsert' | 'delete' | 'skip'",
    ).optional(),
    /** Expiry of upserted values; none when unset (memcached may still evict them). */
    ttlSeconds: seconds.optional(),
    /**
     * Expiry of the tombstone a delete leaves; none when unset. Set it longer than the longest time an old
     * entry can still be delivered (retries, dead-letter redrives, replays).
     */
    tombstoneTtlSeconds: seconds.optional(),
    /** A request without an answer after this long fails (client created from `servers` only). */
    timeoutMs: z.number().int().min(10).max(600_000).default(1000),
    /** A connection not made after this long fails (client created from `servers` only). */
    connectTimeoutMs: z.number().int().min(10).max(600_000).default(2000),
    /**
     * The longest one request may take in all, memjs's retries included: past it the request fails with
     * MemcachedTimeoutError even if memjs never calls back. Default: memjs's own worst case with the settings
     * above (see requestDeadlineMs()), so it only ends requests memjs has lost.
     */
    requestDeadlineMs: z.number().int().min(10).max(3_600_000).optional(),
    /** Keys written at once. */
    concurrency: z.number().int().min(1).max(1000).default(32),
    /** Reads and compare-and-swaps of one key before its entry fails because other writers keep winning. */
    maxCasAttempts: z.number().int().min(1).max(1000).default(10),
  })
  .strict()
  .refine((c) => (c.servers === undefined) !== (c.client === undefined), {
    message: 'give exactly one of servers and client',
    path: ['servers'],
  })
  .superRefine((c, ctx) => {
    // Options of the other mode would be silently ignored: refuse them instead.
    const unused =
      c.mode === 'invalidate'
        ? (['valueFor', 'ttlSeconds', 'tombstoneTtlSeconds'] as const)
        : (['invalidateWindowSeconds'] as const);
    for (const field of unused)
      if (c[field] !== undefined)
        ctx.addIssue({ code: 'custom', path: [field], message: `is not used in ${c.mode} mode` });
  });

/** memjs's tries per request for the client the sink creates (memjs's `retries` counts tries, not retries). */
export const MEMJS_TRIES = 2;
/** memjs's wait between tries, in seconds. */
export const MEMJS_RETRY_DELAY_SECONDS = 0.1;

/**
 * The deadline of one request: `requestDeadlineMs`, or else long enough for every try memjs makes (a
 * connection and an answer each, then the wait before the next) and half a second more. 6.5 s by default.
 */
export function requestDeadlineMs(config: ResolvedMemcachedSinkConfig): number {
  if (config.requestDeadlineMs !== undefined) return config.requestDeadlineMs;
  const options = (config.memjsOptions ?? {}) as { retries?: unknown; retry_delay?: unknown };
  const tries = typeof options.retries === 'number' && options.retries > 0 ? options.retries : MEMJS_TRIES;
  const delay =
    typeof options.retry_delay === 'number' ? options.retry_delay * 1000 : MEMJS_RETRY_DELAY_SECONDS * 1000;
  return tries * (config.connectTimeoutMs + config.timeoutMs) + (tries - 1) * delay + 500;
}

/** invalidate mode's default tombstone life: longer than most readers take from a miss to their fill. */
export const DEFAULT_INVALIDATE_WINDOW_SECONDS = 30;

export type MemcachedSinkConfig = z.input<typeof memcachedSinkConfigSchema>;
export type ResolvedMemcachedSinkConfig = Readonly<z.output<typeof memcachedSinkConfigSchema>>;

/** A sink config failed validation; `field` is the dotted path of the first bad field. */
export class MemcachedSinkConfigError extends SinkConfigError {
  constructor(field: string, message: string, options?: { cause?: unknown }) {
    super(field, message, { ...options, sink: 'memcached' });
    this.name = 'MemcachedSinkConfigError';
  }
}

export function resolveMemcachedSinkConfig(input: MemcachedSinkConfig): ResolvedMemcachedSinkConfig {
  return resolveSinkConfig(memcachedSinkConfigSchema, input, MemcachedSinkConfigError);
}
