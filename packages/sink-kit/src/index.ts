export { abortable } from './abortable.js';
export { compareIds, ENTRY_ID, isEntryId, isNewer } from './entry-ids.js';
export {
  defaultAction,
  type KeyCommand,
  type KeyedEntry,
  type KeyPlan,
  lastPerKey,
  type SinkAction,
} from './last-per-key.js';
export { type PublishErrorKind, type PublishPerKeyOptions, publishPerKey } from './publish-per-key.js';
export { guardSecrets, INSPECT, inspectAs, redactError, redactSecrets, urlSecrets } from './redact.js';
export {
  resolveSinkConfig,
  SinkConfigError,
  type SinkConfigErrorClass,
  sinkFunction,
  sinkObject,
  sinkSeconds,
} from './sink-config.js';
export type { BatchResult, FailedEntry, Sink, SinkContext, SinkEntry } from './sink-types.js';
export { groupByTransaction, type TransactionGroup } from './transactions.js';
