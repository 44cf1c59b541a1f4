export { createRocksdbSink, type RocksdbSink, type RocksdbSinkContext } from './rocksdb-sink.js';
export {
  type RocksdbSinkConfig,
  RocksdbSinkConfigError,
  type RocksdbSinkEntry,
} from './rocksdb-sink-config.js';
export { decodeRocksdbValue, type RocksdbItem } from './rocksdb-value.js';
