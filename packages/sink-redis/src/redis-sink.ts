import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import {
  type RedisSinkAction,
  type RedisSinkConfig,
  type RedisSinkEntry,
  type ResolvedRedisSinkConfig,
  resolveRedisSinkConfig,
} from './redis-sink-config.js';

/** The batch context walbox passes to apply; only the abort signal is used. */
export interface RedisSinkContext {
  signal?: AbortSignal;
}

/** Structurally a walbox `Sink`. */
export interface RedisSink {
  readonly name: string;
  /** The client the sink writes through (created from `url`, or the one passed in). */
  readonly client: Redis;
  apply(
    batch: readonly RedisSinkEntry[],
    ctx?: RedisSinkContext,
  ): Promise<void | { failed: Array<{ id: string; error: unknown }> }>;
  close(): Promise<void>;
}

/** One EVALSHA of the version guard. */
interface Call {
  command: Command;
  keys: [value: string, version: string];
  argv: Array<string | Buffer>;
}

interface Command {
  /** The first entry of its (namespace, key) that the sink acts on: named when the command fails. */
  first: RedisSinkEntry;
  /** The last one: the only one sent, since the version guard would refuse the earlier ones after it. */
  last: RedisSinkEntry;
  action: 'upsert' | 'delete';
}

// A bigint id as Postgres prints it; the Lua comparison relies on no sign and no leading zeros.
const ID = /^(0|[1-9][0-9]{0,18})$/;

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

  const keyOf = (e: RedisSinkEntry) =>
    config.keyPrefix + (config.keyFor ? config.keyFor(e) : `${e.namespace}:${e.key}`);
  const valueFor = (e: RedisSinkEntry) =>
    config.valueFor ? config.valueFor(e) : (JSON.stringify(e.payload) ?? 'null');
  const actionOf = (e: RedisSinkEntry): RedisSinkAction =>
    config.actionFor ? config.actionFor(e) : e.op === 'upsert' || e.op === 'delete' ? e.op : 'skip';

  return {
    name: config.name,
    client,
    async apply(batch, ctx = {}) {
      if (closed) throw new Error(`redis sink "${config.name}" is closed`);
      const failed: Array<{ id: string; error: unknown }> = [];
      const commands = plan(batch, actionOf, failed);
      if (commands.length > 0) {
        await whenReady(client, config.connectTimeoutMs, ctx.signal);
        const calls: Call[] = [];
        for (const c of commands) {
          try {
            const ttl = (c.action === 'delete' ? config.tombstoneTtlSeconds : config.ttlSeconds) ?? 0;
            const key = keyOf(c.last);
            const value = c.action === 'upsert' ? valueFor(c.last) : '';
            calls.push({
              command: c,
              keys: [key, key + config.versionSuffix],
              argv: [c.last.id, c.action, value, String(ttl)],
            });
          } catch (error) {
            failed.push({ id: c.first.id, error });
          }
        }
        let pending = calls;
        for (let attempt = 0; pending.length > 0; attempt++) {
          const results = await abortable(run(client, guard.sha, pending), ctx.signal);
          const again: Call[] = [];
          for (const [i, [error]] of results.entries()) {
            if (!error) continue;
            const call = pending[i]!;
            // Redis forgets scripts on restart and SCRIPT FLUSH: load it and send those calls again.
            if (attempt === 0 && error.message.startsWith('NOSCRIPT')) again.push(call);
            else if (isReply(error)) failed.push({ id: call.command.first.id, error });
            else throw error; // no answer from Redis (connection lost, timeout): the batch is retried later
          }
          if (again.length > 0) await abortable(client.script('LOAD', guard.source), ctx.signal);
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
}

/** One command per (namespace, key): the last entry the sink acts on. Bad entries go to `failed`. */
function plan(
  batch: readonly RedisSinkEntry[],
  actionOf: (e: RedisSinkEntry) => RedisSinkAction,
  failed: Array<{ id: string; error: unknown }>,
): Command[] {
  const byKey = new Map<string, Command>();
  const broken = new Set<string>();
  for (const e of batch) {
    const k = `${e.namespace}\u0000${e.key}`;
    if (broken.has(k)) continue;
    let action: RedisSinkAction;
    try {
      if (!ID.test(e.id)) throw new TypeError(`entry id ${JSON.stringify(e.id)} is not a bigint in decimal`);
      action = actionOf(e);
    } catch (error) {
      // Nothing later of this key may be applied before this entry: drop the key's command.
      failed.push({ id: byKey.get(k)?.first.id ?? e.id, error });
      byKey.delete(k);
      broken.add(k);
      continue;
    }
    if (action === 'skip') continue;
    const c = byKey.get(k);
    if (c) {
      c.last = e;
      c.action = action;
    } else byKey.set(k, { first: e, last: e, action });
  }
  return [...byKey.values()];
}

async function run(client: Redis, sha: string, calls: Call[]): Promise<Array<[Error | null, unknown]>> {
  const pipeline = client.pipeline();
  for (const { keys, argv } of calls) pipeline.evalsha(sha, keys.length, ...keys, ...argv);
  const results = await pipeline.exec();
  if (!results) throw new Error('redis pipeline was discarded');
  return results;
}

// ioredis reports Redis error replies as ReplyError (from redis-errors); everything else is the connection.
function isReply(error: Error): boolean {
  return error.name === 'ReplyError';
}

function createClient(config: ResolvedRedisSinkConfig): Redis {
  const client = new Redis(config.url!, {
    lazyConnect: true,
    // Fail commands at once while disconnected instead of queueing them: apply throws and the dispatcher
    // backs off, rather than a batch hanging until Redis is back.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: config.connectTimeoutMs,
    commandTimeout: config.commandTimeoutMs,
    retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2000),
    ...config.redisOptions,
  });
  // Connection errors surface from apply; without a listener ioredis would print each one.
  client.on('error', () => {});
  return client;
}

/**
 * Resolves once the client is ready. Throws when the next connection attempt fails (a refused connection
 * fails at once), after `timeoutMs`, or when `signal` aborts.
 */
async function whenReady(client: Redis, timeoutMs: number, signal: AbortSignal | undefined): Promise<void> {
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

function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
