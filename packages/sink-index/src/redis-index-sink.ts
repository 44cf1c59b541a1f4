import type { Cluster, Redis } from 'ioredis';
import { indexSet } from './index-definition.js';
import { type IndexSink, indexSink } from './index-sink.js';
import { type RedisIndexSinkConfig, resolveRedisIndexSinkConfig } from './redis-index-sink-config.js';
import { redisIndexStore } from './redis-index-store.js';

export interface RedisIndexSink extends IndexSink {
  /** The client the sink uses (created from `url`, or the one passed in). */
  readonly client: Redis | Cluster;
}

/**
 * An index sink on Redis: per index value a set of the keys holding it, per key a record of its values and
 * version, each key change applied by one Lua script (version guard, unique check, every generation).
 */
export function createRedisIndexSink(input: RedisIndexSinkConfig): RedisIndexSink {
  const config = resolveRedisIndexSinkConfig(input);
  const indexes = indexSet(config.indexes);
  const store = redisIndexStore(config, indexes);
  return Object.assign(indexSink(config, indexes, store), { client: store.client });
}
