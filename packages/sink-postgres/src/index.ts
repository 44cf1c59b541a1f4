export type { MappedTransaction, PostgresMapping } from './kysely-mapping.js';
export {
  createPostgresSink,
  type PostgresSink,
  type PostgresSinkContext,
  type ReplicaRow,
} from './postgres-sink.js';
export {
  type PostgresSinkConfig,
  PostgresSinkConfigError,
  type PostgresSinkEntry,
} from './postgres-sink-config.js';
