import { decodeMemcachedValue } from './memcached-sink.js';
import type { MemjsClient } from './memcached-sink-config.js';
import { add, gets } from './memjs-cas.js';

export interface ReadThroughOptions {
  /** Expiry of the value a miss fills in; none when unset. At most 30 days. */
  ttlSeconds?: number;
  /** Longest each request may take, the client's retries included, before MemcachedTimeoutError. Default 6500. */
  deadlineMs?: number;
}

/**
 * A cache-aside read of a key the sink keeps in invalidate mode (or replica mode): the cached value on a hit,
 * otherwise `load()` (a read of the source, e.g. Postgres), which is then filled in with ADD unless it is
 * undefined. ADD, not SET: when the sink stored a change's tombstone after this read missed, the ADD fails
 * and a value loaded before the change does not land (for as long as the tombstone lives: see the README).
 * The filled value carries version 0, older than any entry, so the sink's next change replaces it.
 */
export async function readThrough<T>(
  client: MemjsClient,
  key: string,
  load: () => Promise<T>,
  options: ReadThroughOptions = {},
): Promise<T> {
  const mc = { client, deadlineMs: options.deadlineMs ?? 6500 };
  const stored = await gets(mc, key);
  const item = decodeMemcachedValue(stored?.value);
  if (item && !item.deleted) return item.value as T;
  const value = await load();
  // A tombstone (or something else the sink did not write) is there: an ADD would fail, skip it.
  if (stored === null && value !== undefined) {
    const fill = Buffer.from(`{"v":"0","d":${JSON.stringify(value)}}`);
    await add(mc, key, fill, options.ttlSeconds ?? 0);
  }
  return value;
}
