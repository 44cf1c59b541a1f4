import { redactSecrets, urlSecrets } from '@walbox/sink-kit';
import type { RedisOptions } from 'ioredis';

interface Connection {
  url?: string;
  cluster?: { nodes: readonly string[]; options?: { redisOptions?: RedisOptions } };
  redisOptions?: RedisOptions;
}

/** The passwords a Redis sink was configured with: in its URLs and its ioredis options. */
export function redisSecrets(c: Connection): string[] {
  const passwords = [c.redisOptions?.password, c.cluster?.options?.redisOptions?.password];
  return [
    ...urlSecrets(c.url),
    ...(c.cluster?.nodes ?? []).flatMap((n) => urlSecrets(n)),
    ...passwords.filter((p): p is string => typeof p === 'string' && p.length > 0),
  ];
}

/** Where a Redis sink connects, for util.inspect: URLs with their passwords replaced. */
export function redisTarget(c: Connection): object {
  if (c.url) return { url: redactSecrets(c.url) };
  if (c.cluster) return { cluster: c.cluster.nodes.map((n) => redactSecrets(n)) };
  return { client: 'given' };
}
