import { Redis } from 'ioredis';
import memjs from 'memjs';
import { decodeMemcachedValue } from '../../../packages/sink-memcached/src/index.js';

/** The last committed entry of a key, as the log holds it. */
export interface LastEntry {
  id: string;
  op: string;
  payload: unknown;
}

/** What the stores hold for a key: its version (the id of the entry that wrote it), undefined when absent. */
interface Versions {
  redis: Map<string, bigint>;
  memcached: Map<string, bigint>;
}

/**
 * Watches the Redis and memcached replicas while a scenario runs: reads every key's version a few times a
 * second and counts a backwards move whenever a store holds an older version of a key than it held before.
 * A store that is down or frozen is skipped for that round. Keys follow the sinks' defaults:
 * `walbox:<namespace>:<key>` (Redis keeps the version in `<that>#version`, memcached inside the value).
 */
export class StoreWatch {
  readonly redis: Redis;
  readonly memcached: memjs.Client;
  readonly backwards = { redis: 0, memcached: 0 };
  readonly #seen: Versions = { redis: new Map(), memcached: new Map() };
  #timer: NodeJS.Timeout | undefined;
  #sampling: Promise<void> | undefined;

  constructor(
    redisUrl: string,
    memcachedServers: string,
    private readonly namespace: string,
    private readonly keys: readonly string[],
  ) {
    this.redis = new Redis(redisUrl, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: 500,
      commandTimeout: 1000,
    });
    this.redis.on('error', () => {}); // the scenario stops the server under it
    this.memcached = memjs.Client.create(memcachedServers, { timeout: 0.5, retries: 0, logger: quiet });
  }

  start(everyMs = 250): void {
    this.#timer = setInterval(() => {
      this.#sampling ??= this.#sample().finally(() => {
        this.#sampling = undefined;
      });
    }, everyMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#sampling;
    await this.#sample(); // the final state counts too
  }

  /** A read that a frozen or restarted store may never answer: given up after 2 s. */
  #bounded<T>(read: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('store read timed out')), 2000);
    });
    return Promise.race([read, timeout]).finally(() => clearTimeout(timer));
  }

  close(): void {
    this.redis.disconnect();
    this.memcached.close();
  }

  /** Keys whose store value is not the log's last entry: Redis must hold exactly it, memcached it or nothing. */
  async mismatches(last: ReadonlyMap<string, LastEntry>): Promise<{ redis: string[]; memcached: string[] }> {
    const keys = [...last.keys()];
    const redis: string[] = [];
    const memcached: string[] = [];
    const values = await this.#settledRedisValues(keys);
    for (const [i, key] of keys.entries()) {
      const want = last.get(key)!;
      const [value, version] = values[i]!;
      const deleted = want.op === 'delete';
      if (version !== want.id || (deleted ? value !== null : value !== JSON.stringify(want.payload)))
        redis.push(key);
      const item = decodeMemcachedValue(
        (await this.#bounded(this.memcached.get(this.#key(key)))).value ?? undefined,
      );
      if (item === undefined) continue; // a cache may miss (memcached restarted empty): never stale
      if (
        item.version !== want.id ||
        item.deleted !== deleted ||
        (!deleted && JSON.stringify(item.value) !== JSON.stringify(want.payload))
      )
        memcached.push(key);
    }
    return { redis, memcached };
  }

  /**
   * The final check's read: the watcher's own connection may still be coming back from the outage (the
   * stores answer the dispatchers already), so it tries again for up to 15 s before giving up.
   */
  async #settledRedisValues(keys: readonly string[]): Promise<Array<[string | null, string | null]>> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      try {
        return await this.#redisValues(keys);
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  #key(key: string): string {
    return `walbox:${this.namespace}:${key}`;
  }

  async #redisValues(keys: readonly string[]): Promise<Array<[string | null, string | null]>> {
    if (this.redis.status === 'wait' || this.redis.status === 'end')
      await this.#bounded(this.redis.connect());
    // Reconnecting after a freeze (its commands timed out): without an offline queue a command now fails at
    // once ("Stream isn't writeable"), so wait for the connection first.
    if (this.redis.status !== 'ready')
      await this.#bounded(new Promise<void>((resolve) => this.redis.once('ready', () => resolve())));
    const flat = await this.#bounded(
      this.redis.mget(keys.flatMap((k) => [this.#key(k), `${this.#key(k)}#version`])),
    );
    return keys.map((_, i) => [flat[2 * i] ?? null, flat[2 * i + 1] ?? null]);
  }

  async #sample(): Promise<void> {
    const redis = await this.#redisValues(this.keys).catch(() => undefined);
    if (redis) {
      for (const [i, key] of this.keys.entries()) {
        const version = redis[i]![1];
        if (version !== null) this.#observe('redis', key, BigInt(version));
      }
    }
    for (const key of this.keys) {
      const got = await this.#bounded(this.memcached.get(this.#key(key))).catch(() => undefined);
      if (!got) break; // down or frozen: try again next round
      const item = decodeMemcachedValue(got.value ?? undefined);
      if (item) this.#observe('memcached', key, BigInt(item.version));
    }
  }

  #observe(store: keyof Versions, key: string, version: bigint): void {
    const before = this.#seen[store].get(key);
    if (before !== undefined && version < before) this.backwards[store]++;
    if (before === undefined || version > before) this.#seen[store].set(key, version);
  }
}

const quiet = { log: () => {} };
