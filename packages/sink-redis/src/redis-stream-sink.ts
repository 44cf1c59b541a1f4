import {
  abortable,
  type BatchResult,
  type FailedEntry,
  guardSecrets,
  type Sink,
  type SinkContext,
  type SinkEntry,
} from '@walbox/sink-kit';
import { Redis } from 'ioredis';
import { redisSecrets, redisTarget } from './redis-secrets.js';
import { STREAM_GUARD, STREAM_GUARD_SHA } from './redis-stream-guard.js';
import { defaultFields, planStreamCalls, type StreamCall, streamFrom } from './redis-stream-plan.js';
import { type RedisStreamSinkConfig, resolveRedisStreamSinkConfig } from './redis-stream-sink-config.js';

export { type RedisStreamSinkConfig, RedisStreamSinkConfigError } from './redis-stream-sink-config.js';

/** A walbox sink appending each entry to a Redis stream. */
export interface RedisStreamSink extends Sink<SinkEntry> {
  readonly client: Redis;
  apply(batch: readonly SinkEntry[], ctx?: Partial<SinkContext>): Promise<void | BatchResult>;
  close(): Promise<void>;
}

// Error replies about the server's state rather than one key: the batch is retried, as for an outage.
const SERVER_STATES = new Set(['OOM', 'MISCONF', 'LOADING', 'BUSY', 'READONLY', 'MASTERDOWN', 'NOREPLICAS']);
const codeOf = (message: string) => message.replace(/^ERR\s+/, '').split(' ', 1)[0] ?? '';

/**
 * XADDs every entry to its stream through a Lua guard that skips an entry whose id is not above the last id
 * added for its key, atomically with the XADD: a batch applied again after a crash adds nothing twice. One
 * script call per stream, all in one pipeline; entries are added in log order, and a key stops at its first
 * failure.
 */
export function createRedisStreamSink(input: RedisStreamSinkConfig): RedisStreamSink {
  const config = resolveRedisStreamSinkConfig(input);
  const owned = config.client === undefined;
  const client =
    config.client ??
    new Redis(config.url!, {
      // Fail at once while disconnected: apply throws and the dispatcher backs off.
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: config.connectTimeoutMs,
      commandTimeout: config.commandTimeoutMs,
      ...config.redisOptions,
    });
  if (owned) client.on('error', () => {}); // errors surface from apply; unheard, ioredis would print each one
  const streamOf = streamFrom(config.stream);
  const fieldsOf = config.fields ?? defaultFields;
  const trim =
    config.maxLen === undefined ? ['', '~'] : [String(config.maxLen), config.exactMaxLen ? '=' : '~'];
  let closed = false;

  const sink: RedisStreamSink = {
    name: config.name,
    client,
    async apply(batch, ctx = {}) {
      if (closed) throw new Error(`redis stream sink "${config.name}" is closed`);
      const { calls, failed } = planStreamCalls(batch, {
        streamOf,
        guardSuffix: config.guardSuffix,
        fieldsOf,
      });
      if (calls.length === 0) return failed.length > 0 ? { failed } : undefined;
      if (client.status === 'wait') await abortable(client.connect(), ctx.signal);
      let pending = calls;
      for (let attempt = 0; pending.length > 0; attempt++) {
        // After a restart or SCRIPT FLUSH Redis answers NOSCRIPT: those calls go again with the source.
        const results = await abortable(run(client, pending, trim, attempt === 0), ctx.signal);
        const again: StreamCall[] = [];
        for (const [i, [error, reply]] of results.entries()) {
          const call = pending[i]!;
          if (error) {
            if (attempt === 0 && codeOf(error.message) === 'NOSCRIPT') again.push(call);
            else if (error.name !== 'ReplyError' || SERVER_STATES.has(codeOf(error.message))) throw error;
            else for (const i of firstOfEachKey(call)) failKey(failed, call, i, error);
            continue;
          }
          const [, , ...failures] = reply as Array<number | string>;
          for (let f = 0; f < failures.length; f += 2) {
            const message = String(failures[f + 1]);
            if (SERVER_STATES.has(codeOf(message))) throw new Error(`redis refused XADD: ${message}`);
            failKey(
              failed,
              call,
              Number(failures[f]) - 1,
              new Error(`XADD to ${call.stream} failed: ${message}`),
            );
          }
        }
        pending = again;
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
    stream: String(config.stream),
    status: client.status,
  });
  return guardSecrets(sink, 'RedisStreamSink', redisSecrets(config), shown);
}

/** The index of each key's first entry in the call. */
function firstOfEachKey(call: StreamCall): number[] {
  const seen = new Set<string>();
  return call.entries.flatMap((e, i) => {
    const k = `${e.namespace}\u0000${e.key}`;
    if (seen.has(k)) return [];
    seen.add(k);
    return [i];
  });
}

/** Fails the call's entry at `index` with `error`, and every later entry of its key as behind it. */
function failKey(failed: FailedEntry[], call: StreamCall, index: number, error: unknown): void {
  const first = call.entries[index]!;
  failed.push({ id: first.id, error });
  for (const later of call.entries.slice(index + 1))
    failed.push({
      id: later.id,
      error: new Error(`not added: entry ${first.id} of its key failed before it`),
    });
}

async function run(
  client: Redis,
  calls: StreamCall[],
  trim: string[],
  cached: boolean,
): Promise<Array<[Error | null, unknown]>> {
  const pipeline = client.pipeline();
  for (const c of calls) {
    const args = [2, c.stream, c.guard, ...trim, ...c.argv] as const;
    if (cached) pipeline.evalsha(STREAM_GUARD_SHA, ...args);
    else pipeline.eval(STREAM_GUARD, ...args);
  }
  const results = await pipeline.exec();
  if (!results) throw new Error('redis pipeline was discarded');
  return results;
}
