import { Cluster, Redis } from 'ioredis';
import type { ResolvedRedisSinkConfig } from './redis-sink-config.js';

/** What the sink writes through: one Redis server, or a Redis Cluster. */
export type RedisClient = Redis | Cluster;

const retryStrategy = (times: number) => Math.min(100 * 2 ** Math.min(times, 5), 2000);

/** The client for `url` or `cluster`, configured to fail fast; it connects on first use. */
export function createClient(config: ResolvedRedisSinkConfig): RedisClient {
  // Fail commands at once while disconnected instead of queueing them: apply throws and the dispatcher backs
  // off, rather than a batch hanging until Redis is back.
  const failFast = { lazyConnect: true, enableOfflineQueue: false };
  const connection = {
    maxRetriesPerRequest: 1,
    connectTimeout: config.connectTimeoutMs,
    commandTimeout: config.commandTimeoutMs,
    ...config.redisOptions,
  };
  const client = config.cluster
    ? new Cluster([...config.cluster.nodes], {
        ...failFast,
        clusterRetryStrategy: retryStrategy,
        redisOptions: connection, // for each node's connection
        ...config.cluster.options,
      })
    : new Redis(config.url!, { ...failFast, retryStrategy, ...connection });
  // Connection errors surface from apply; without a listener ioredis would print each one.
  client.on('error', () => {});
  return client;
}

/**
 * Resolves once the client is ready. Throws when the next connection attempt fails (a refused connection
 * fails at once), after `timeoutMs`, or when `signal` aborts.
 */
export async function whenReady(
  client: RedisClient,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  if (client.status === 'ready') return;
  if (client.status === 'end') throw new Error('redis client is closed');
  if (client.status === 'wait') client.connect().catch(() => {});
  await new Promise<void>((resolve, reject) => {
    const done = (err?: unknown) => {
      clearTimeout(timer);
      client.off('ready', onReady);
      client.off('error', onError);
      client.off('end', onEnd);
      signal?.removeEventListener('abort', onAbort);
      err === undefined ? resolve() : reject(err);
    };
    const onReady = () => done();
    const onError = (err: unknown) =>
      done(new Error(`redis is unreachable: ${err instanceof Error ? err.message : err}`, { cause: err }));
    const onEnd = () => done(new Error('redis client is closed'));
    const onAbort = () => done(signal!.reason);
    const timer = setTimeout(
      () => done(new Error(`redis not ready within ${timeoutMs} ms (status ${client.status})`)),
      timeoutMs,
    );
    client.on('ready', onReady);
    client.on('error', onError);
    client.on('end', onEnd);
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) onAbort();
  });
}
