export {
  IndexExtractError,
  IndexSinkConfigError,
  RebuildError,
  type UniqueViolation,
  UniqueViolationError,
  UnknownIndexError,
} from './errors.js';
export { type IndexDefinition, type IndexValue, MAX_VALUE_LENGTH } from './index-definition.js';
export type { IndexSink } from './index-sink.js';
export type { ViolationHandler } from './index-sink-config.js';
export { createPostgresIndexSink, type PostgresIndexSink } from './pg-index-sink.js';
export type { PostgresIndexSinkConfig } from './pg-index-sink-config.js';
export type {
  LogPosition,
  RebuildOptions,
  RebuildResult,
  RebuildSource,
  SnapshotRow,
  WalboxLog,
} from './rebuild.js';
export { createRedisIndexSink, type RedisIndexSink } from './redis-index-sink.js';
export type { RedisIndexSinkConfig } from './redis-index-sink-config.js';
