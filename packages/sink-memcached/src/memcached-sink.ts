import { defaultAction, ENTRY_ID, guardSecrets, type KeyCommand, lastPerKey } from '@walbox/sink-kit';
import memjs from 'memjs';
import {
  DEFAULT_INVALIDATE_WINDOW_SECONDS,
  MEMJS_RETRY_DELAY_SECONDS,
  MEMJS_TRIES,
  type MemcachedSinkConfig,
  type MemcachedSinkEntry,
  type MemjsClient,
  type ResolvedMemcachedSinkConfig,
  requestDeadlineMs,
  resolveMemcachedSinkConfig,
} from './memcached-sink-config.js';
import { add, cas, gets, type Memcached, MemcachedStatusError } from './memjs-cas.js';
import { guardSockets } from './memjs-socket-guard.js';

/** The batch context walbox passes to apply; only the abort signal is used. */
export interface MemcachedSinkContext {
  signal?: AbortSignal;
}

/** Structurally a walbox `Sink`. */
export interface MemcachedSink {
  readonly name: string;
  /** The client the sink writes through (created from `servers`, or the one passed in). */
  readonly client: MemjsClient;
  apply(
    batch: readonly MemcachedSinkEntry[],
    ctx?: MemcachedSinkContext,
  ): Promise<void | { failed: Array<{ id: string; error: unknown }> }>;
  close(): Promise<void>;
}

/** A stored item decoded: the id of the entry that wrote it, and its value unless a delete wrote it. */
export type MemcachedItem =
  | { version: string; deleted: false; value: unknown }
  | { version: string; deleted: true; value: undefined };

interface Write {
  key: string;
  value: Buffer;
  id: bigint;
  expires: number;
}

type Command = KeyCommand<MemcachedSinkEntry>;

// The envelope starts with the version so that it is read without parsing the value.
const VERSION = /^\{"v":"(0|[1-9][0-9]{0,18})"/;
const MAX_KEY_BYTES = 250;
// Statuses about the entry itself; any other error status (out of memory, busy...) fails the whole batch.
const ENTRY_STATUSES = new Set([0x03, 0x04]);

/**
 * Decodes what the sink stores: `{"v":"<id>","d":<value>}` for an upsert, `{"v":"<id>","deleted":true}` (a
 * tombstone) for a delete. Readers of the cache use it too; undefined for anything else.
 */
export function decodeMemcachedValue(raw: Buffer | string | null | undefined): MemcachedItem | undefined {
  if (raw === null || raw === undefined) return undefined;
  try {
    const item = JSON.parse(raw.toString()) as { v?: unknown; d?: unknown; deleted?: unknown };
    if (typeof item.v !== 'string' || !ENTRY_ID.test(item.v)) return undefined;
    if (item.deleted === true) return { version: item.v, deleted: true, value: undefined };
    return { version: item.v, deleted: false, value: item.d };
  } catch {
    return undefined;
  }
}

/**
 * A sink that keeps one memcached item per (namespace, key), holding the value together with the id of the
 * entry that wrote it. Each write is a compare-and-swap (or an ADD for a new key) that only goes through when
 * the entry is newer than the stored one; a delete stores a tombstone with its id instead of deleting, so an
 * older upsert delivered again later is refused. In invalidate mode every change stores such a tombstone, with
 * a short expiry, in place of the value.
 */
export function createMemcachedSink(input: MemcachedSinkConfig): MemcachedSink {
  const config = resolveMemcachedSinkConfig(input);
  const owned = config.client === undefined;
  const client = config.client ?? createClient(config);
  const mc: Memcached = { client, deadlineMs: requestDeadlineMs(config) };
  let closed = false;

  const keyOf = (e: MemcachedSinkEntry) =>
    config.keyPrefix + (config.keyFor ? config.keyFor(e) : `${e.namespace}:${e.key}`);
  const actionOf = config.actionFor ?? defaultAction;
  // invalidate mode writes a tombstone for every change: readers refill the key from the source.
  const invalidate = config.mode === 'invalidate';
  const encode = (c: Command) =>
    Buffer.from(
      invalidate || c.action === 'delete'
        ? `{"v":"${c.last.id}","deleted":true}`
        : `{"v":"${c.last.id}","d":${JSON.stringify(config.valueFor ? config.valueFor(c.last) : c.last.payload) ?? 'null'}}`,
    );
  const expiry = (c: Command) =>
    invalidate
      ? (config.invalidateWindowSeconds ?? DEFAULT_INVALIDATE_WINDOW_SECONDS)
      : ((c.action === 'delete' ? config.tombstoneTtlSeconds : config.ttlSeconds) ?? 0);

  /** The key, value and expiry of a command; throws for an entry that can never be written. */
  const prepare = (c: Command): Write => {
    const key = keyOf(c.last);
    if (Buffer.byteLength(key) > MAX_KEY_BYTES)
      throw new RangeError(`memcached key longer than ${MAX_KEY_BYTES} bytes: ${key}`);
    return { key, value: encode(c), id: BigInt(c.last.id), expires: expiry(c) };
  };

  /** Writes the entry unless the item holds one as new or newer. */
  const write = async ({ key, value, id, expires }: Write) => {
    for (let attempt = 0; attempt < config.maxCasAttempts; attempt++) {
      const item = await gets(mc, key);
      if (!item) {
        if (await add(mc, key, value, expires)) return;
        continue; // another writer added it first: compare with theirs
      }
      const stored = VERSION.exec(item.value.subarray(0, 32).toString('latin1'))?.[1];
      // A value without a version (written by something else) counts as older than any entry.
      if (stored !== undefined && BigInt(stored) >= id) return;
      if (await cas(mc, key, value, item.cas, expires)) return;
    }
    throw new CasContentionError(key, config.maxCasAttempts);
  };

  const sink: MemcachedSink = {
    name: config.name,
    client,
    async apply(batch, ctx = {}) {
      if (closed) throw new Error(`memcached sink "${config.name}" is closed`);
      const { commands, failed } = lastPerKey(batch, actionOf);
      let next = 0;
      let broken: unknown;
      const worker = async () => {
        while (next < commands.length && broken === undefined) {
          ctx.signal?.throwIfAborted();
          const c = commands[next++]!;
          let w: Write;
          try {
            w = prepare(c);
          } catch (error) {
            failed.push({ id: c.first.id, error });
            continue;
          }
          try {
            await write(w);
          } catch (error) {
            if (isEntryError(error)) failed.push({ id: c.first.id, error });
            else {
              // No answer (connection refused or lost, timeout) or a server-wide condition: the whole batch
              // is retried later; the other workers stop taking keys.
              broken = error;
              throw error;
            }
          }
        }
      };
      const workers = Array.from({ length: Math.min(config.concurrency, commands.length) }, worker);
      await Promise.all(workers);
      return failed.length > 0 ? { failed } : undefined;
    },
    async close() {
      if (closed) return;
      closed = true;
      if (owned) client.close();
    },
  };
  const shown = () => ({
    name: config.name,
    servers:
      config.servers === undefined ? 'client given' : config.servers.replace(SERVER_PASSWORD, '$1$2:***@'),
  });
  return guardSecrets(sink, 'MemcachedSink', memcachedSecrets(config), shown);
}

/** Other writers kept changing a key between our read and our compare-and-swap. */
export class CasContentionError extends Error {
  constructor(
    readonly key: string,
    attempts: number,
  ) {
    super(`memcached key ${key} kept changing: gave up after ${attempts} compare-and-swaps`);
    this.name = 'CasContentionError';
  }
}

function isEntryError(error: unknown): boolean {
  if (error instanceof MemcachedStatusError) return ENTRY_STATUSES.has(error.status);
  return error instanceof CasContentionError;
}

function createClient(config: ResolvedMemcachedSinkConfig): MemjsClient {
  const client = memjs.Client.create(config.servers, {
    // Fail fast so that apply throws and the dispatcher backs off: two tries, then the error.
    retries: MEMJS_TRIES,
    retry_delay: MEMJS_RETRY_DELAY_SECONDS,
    timeout: config.timeoutMs / 1000,
    conntimeout: config.connectTimeoutMs / 1000,
    keepAlive: true,
    // Failures surface from apply; memjs would print each one.
    logger: { log: () => {} },
    ...config.memjsOptions,
  });
  // memjs 1.3.2 can wedge after a hung memcached resumes: see memjs-socket-guard.ts.
  for (const server of client.servers) guardSockets(server);
  return client;
}

/** `user:pass@` before a host in memjs's server list ("user:pass@host:port,host2"). */
const SERVER_PASSWORD = /(^|,)([^,:@\s]*):[^,@\s]*@/g;

/** The passwords in the server list and in memjsOptions. */
function memcachedSecrets(config: ResolvedMemcachedSinkConfig): string[] {
  const inList = [...(config.servers ?? '').matchAll(/(?:^|,)[^,:@\s]*:([^,@\s]*)@/g)].map((m) => m[1]!);
  const option = (config.memjsOptions as { password?: unknown } | undefined)?.password;
  return [...inList, ...(typeof option === 'string' ? [option] : [])].filter((p) => p.length > 0);
}
