export type { RedisClient } from './redis-client.js';
export { createRedisSink, type RedisSink, type RedisSinkContext } from './redis-sink.js';
export {
  type RedisSinkAction,
  type RedisSinkConfig,
  RedisSinkConfigError,
  type RedisSinkEntry,
} from './redis-sink-config.js';
export {
  createRedisStreamSink,
  type RedisStreamSink,
  type RedisStreamSinkConfig,
  RedisStreamSinkConfigError,
} from './redis-stream-sink.js';
