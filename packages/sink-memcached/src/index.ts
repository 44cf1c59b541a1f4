export { MemcachedTimeoutError, MemcachedUnavailableError } from './memcached-errors.js';
export {
  CasContentionError,
  createMemcachedSink,
  decodeMemcachedValue,
  type MemcachedItem,
  type MemcachedSink,
  type MemcachedSinkContext,
} from './memcached-sink.js';
export {
  type MemcachedSinkAction,
  type MemcachedSinkConfig,
  MemcachedSinkConfigError,
  type MemcachedSinkEntry,
  type MemjsClient,
} from './memcached-sink-config.js';
export { MemcachedStatusError } from './memjs-cas.js';
export { type ReadThroughOptions, readThrough } from './read-through.js';
