import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type Cluster, Redis } from 'ioredis';
import { RebuildError } from './errors.js';
import type { ResolvedIndex } from './index-definition.js';
import type { ResolvedRedisIndexSinkConfig } from './redis-index-sink-config.js';

export function createClient(config: ResolvedRedisIndexSinkConfig): Redis {
  // Commands wait at most one reconnection attempt: apply throws and the dispatcher backs off, rather than a
  // batch hanging while Redis is down.
  const client = new Redis(config.url!, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    connectTimeout: config.connectTimeoutMs,
    commandTimeout: config.commandTimeoutMs,
    retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2000),
    ...config.redisOptions,
  });
  client.on('error', () => {}); // connection errors surface from the commands
  return client;
}

const replyCode = (error: Error) =>
  error.name === 'ReplyError' ? error.message.split(' ', 1)[0] : undefined;

// Replies about the server or the cluster rather than the entry: the batch is retried.
const SERVER_STATES = new Set([
  'OOM',
  'MISCONF',
  'LOADING',
  'BUSY',
  'READONLY',
  'MASTERDOWN',
  'NOREPLICAS',
  'CLUSTERDOWN',
  'TRYAGAIN',
  'MOVED',
  'ASK',
]);

export function isAboutEntry(error: Error): boolean {
  const code = replyCode(error);
  return code !== undefined && !SERVER_STATES.has(code);
}

export function asRebuildError(index: ResolvedIndex, error: unknown): unknown {
  const code = error instanceof Error ? replyCode(error) : undefined;
  if (code === 'REBUILD_RUNNING' || code === 'GENERATION_GONE')
    return new RebuildError(index.name, (error as Error).message.slice(code.length + 1), { cause: error });
  return error;
}

type Arg = string | Buffer;
type Script = { source: string; sha: string };
let scripts: Record<'apply' | 'read' | 'generation', Script> | undefined;

/**
 * The three scripts, run with EVALSHA, and once more with EVAL and the source when Redis forgot them (a
 * restart, SCRIPT FLUSH, a cluster node that never ran them), which caches them again. Each takes one key,
 * the namespace's meta hash, that routes it to its node. The client is left as it is (no defineCommand).
 */
export function indexScripts(client: Redis | Cluster) {
  // Read when the first store is created, not at import; the .lua files ship next to this module.
  scripts ??= Object.fromEntries(
    (['apply', 'read', 'generation'] as const).map((name) => {
      const source = readFileSync(new URL(`./index-${name}.lua`, import.meta.url), 'utf8');
      return [name, { source, sha: createHash('sha1').update(source).digest('hex') }];
    }),
  ) as Record<'apply' | 'read' | 'generation', Script>;
  const call =
    (script: Script) =>
    async (key: string, ...argv: Arg[]): Promise<unknown> => {
      try {
        return await client.evalsha(script.sha, 1, key, ...argv);
      } catch (error) {
        if (!(error instanceof Error) || replyCode(error) !== 'NOSCRIPT') throw error;
        return client.eval(script.source, 1, key, ...argv);
      }
    };
  return {
    apply: call(scripts.apply) as (key: string, ...argv: Arg[]) => Promise<[string, string[]]>,
    read: call(scripts.read),
    generation: call(scripts.generation),
  };
}
