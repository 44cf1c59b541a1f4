import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { abortable, defaultAction, guardSecrets, type KeyCommand, lastPerKey } from '@walbox/sink-kit';
import { createClient, type RedisClient, whenReady } from './redis-client.js';
import { entryKeys } from './redis-keys.js';
import { redisSecrets, redisTarget } from './redis-secrets.js';
import { type RedisSinkConfig, type RedisSinkEntry, resolveRedisSinkConfig } from './redis-sink-config.js';

/** The batch context walbox passes to apply; only the abort signal is used. */
export interface RedisSinkContext {
  signal?: AbortSignal;
}

/** Structurally a walbox `Sink`. */
export interface RedisSink {
  readonly name: string;
  /** The client the sink writes through (created from `url` or `cluster`, or the one passed in). */
  readonly client: RedisClient;
  /**
   * The Redis keys of an entry key: where its value is (for readers of the cache) and its version. Ask the
   * sink rather than concatenating: a few keys are escaped (see the README's key layout). With `keyFor`, it
   * is called with just the namespace and key.
   */
  keysFor(namespace: string, key: string): { value: string; version: string };
  apply(
    batch: readonly RedisSinkEntry[],
    ctx?: RedisSinkContext,
  ): Promise<void | { failed: Array<{ id: string; error: unknown }> }>;
  close(): Promise<void>;
}

/** One run of the version guard, for the last entry of a key (lastPerKey checked its id's form, which the Lua comparison relies on). */
interface Call {
  command: KeyCommand<RedisSinkEntry>;
  keys: [value: string, version: string];
  argv: Array<string | Buffer>;
}

let script: { source: string; sha: string } | undefined;
function versionGuard() {
  // Read when the first sink is created, not at import; the .lua file ships next to this module.
  if (!script) {
    const source = readFileSync(new URL('./version-guard.lua', import.meta.url), 'utf8');
    script = { source, sha: createHash('sha1').update(source).digest('hex') };
  }
  return script;
}

/**
 * A sink that keeps one Redis key per (namespace, key): SET to the payload on upsert, DEL on delete, each
 * through a Lua version guard so that re-delivered or older entries never overwrite newer ones.
 */
export function createRedisSink(input: RedisSinkConfig): RedisSink {
  const config = resolveRedisSinkConfig(input);
  const guard = versionGuard();
  const owned = config.client === undefined;
  const client = config.client ?? createClient(config);
  let closed = false;

  const keysOf = entryKeys(config);
  const valueFor = (e: RedisSinkEntry) =>
    config.valueFor ? config.valueFor(e) : (JSON.stringify(e.payload) ?? 'null');
  const actionOf = config.actionFor ?? defaultAction;

  const sink: RedisSink = {
    name: config.name,
    client,
    keysFor(namespace, key) {
      const [value, version] = keysOf({ namespace, key } as RedisSinkEntry);
      return { value, version };
    },
    async apply(batch, ctx = {}) {
      if (closed) throw new Error(`redis sink "${config.name}" is closed`);
      const { commands, failed } = lastPerKey(batch, actionOf);
      if (commands.length > 0) {
        await whenReady(client, config.connectTimeoutMs, ctx.signal);
        const calls: Call[] = [];
        for (const c of commands) {
          try {
            const ttl = (c.action === 'delete' ? config.tombstoneTtlSeconds : config.ttlSeconds) ?? 0;
            const value = c.action === 'upsert' ? valueFor(c.last) : '';
            calls.push({ command: c, keys: keysOf(c.last), argv: [c.last.id, c.action, value, String(ttl)] });
          } catch (error) {
            failed.push({ id: c.first.id, error });
          }
        }
        let pending = calls;
        for (let attempt = 0; pending.length > 0; attempt++) {
          // Redis forgets scripts on restart and SCRIPT FLUSH: the calls it answers NOSCRIPT are sent again
          // with the source (EVAL), which also caches the script on the server (on each cluster node that
          // forgot it) for the EVALSHAs of later batches.
          const script = attempt === 0 ? { sha: guard.sha } : { source: guard.source };
          const results = await abortable(run(client, script, pending), ctx.signal);
          const again: Call[] = [];
          for (const [i, [error]] of results.entries()) {
            if (!error) continue;
            const call = pending[i]!;
            if (attempt === 0 && replyCode(error) === 'NOSCRIPT') again.push(call);
            else if (isAboutEntry(error)) failed.push({ id: call.command.first.id, error });
            // No answer (connection lost, timeout), or Redis as a whole cannot write now: the batch is retried.
            else throw error;
          }
          pending = again;
        }
      }
      return failed.length > 0 ? { failed } : undefined;
    },
    async close() {
      if (closed) return;
      closed = true;
      if (!owned) return;
      if (client.status === 'ready') await client.quit().catch(() => client.disconnect());
      else client.disconnect();
    },
  };
  const shown = () => ({
    name: config.name,
    ...redisTarget(config),
    keyPrefix: config.keyPrefix,
    status: client.status,
  });
  return guardSecrets(sink, 'RedisSink', redisSecrets(config), shown);
}

/**
 * Sends the calls and returns each one's error or result: EVALSHA, or EVAL with the source when the server
 * forgot the script. One pipeline to a single server; on a cluster one command per call, which ioredis routes
 * to the node serving its slot (a cluster pipeline must stay on one node) and writes without waiting for the
 * replies of the others.
 */
async function run(
  client: RedisClient,
  script: { sha: string } | { source: string },
  calls: Call[],
): Promise<Array<[Error | null, unknown]>> {
  const args = ({ keys, argv }: Call) => [keys.length, ...keys, ...argv] as const;
  if (client.isCluster) {
    const send = (call: Call) =>
      'sha' in script ? client.evalsha(script.sha, ...args(call)) : client.eval(script.source, ...args(call));
    return Promise.all(
      calls.map((call) =>
        send(call).then(
          (result): [null, unknown] => [null, result],
          (error: Error): [Error, null] => [error, null],
        ),
      ),
    );
  }
  const pipeline = client.pipeline();
  for (const call of calls) {
    if ('sha' in script) pipeline.evalsha(script.sha, ...args(call));
    else pipeline.eval(script.source, ...args(call));
  }
  const results = await pipeline.exec();
  if (!results) throw new Error('redis pipeline was discarded');
  return results;
}

/** The error code of a Redis error reply (its first word), or undefined for any other error. */
function replyCode(error: Error): string | undefined {
  // ioredis reports error replies as ReplyError (from redis-errors); everything else is the connection.
  return error.name === 'ReplyError' ? error.message.split(' ', 1)[0] : undefined;
}

// Error replies about the state of the server or the cluster rather than about one entry: out of memory,
// loading, a replica or a failover, a resharding, a busy script. A reply with any other code (WRONGTYPE, a
// value too large...) fails its entry.
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

function isAboutEntry(error: Error): boolean {
  const code = replyCode(error);
  return code !== undefined && !SERVER_STATES.has(code);
}
