export type { AuditFilter, AuditRow } from './audit.js';
export type { BackfillOptions, BackfillProgress } from './backfill.js';
export type { CaptureOptions } from './capture.js';
export type { ChunkedOptions } from './chunked-work.js';
export {
  type ConsoleHandler,
  type ConsoleOptions,
  createConsoleHandler,
  toNodeHandler,
} from './console/index.js';
export type { DeadLetter, DeadLetterFilter, DeadLetterStatus, DeadLetters } from './dead-letters.js';
export { Dispatcher } from './dispatch/dispatcher.js';
export type { DispatcherOptions } from './dispatch/dispatcher-config.js';
export type { DispatcherEvents } from './dispatch/dispatcher-events.js';
export { type BatchResult, functionSink, type Sink, type SinkContext } from './dispatch/sink.js';
export {
  type SinkErrorCode,
  SinkResultError,
  SinkThrewError,
  SinkTimeoutError,
} from './dispatch/sink-errors.js';
export {
  type DispatchConfigInput,
  defineDispatchConfig,
} from './dispatch-config/dispatch-config.js';
export { DispatchConfigError } from './dispatch-config/dispatch-config-error.js';
export type { AppendedEntry, Entry, EntryInput } from './entry.js';
export { DEFAULT_ENTRY_LIMITS, type EntryLimits, MAX_DELAY_MS } from './entry-encoding.js';
export {
  type BatchLimit,
  BatchTooLargeError,
  DatabaseUnavailableError,
  EntryRejectedError,
  EntryTooLargeError,
  InboxError,
  InvalidConfigError,
  InvalidEntryError,
  InvalidNameError,
  LeaseLostError,
  MigrationError,
  NamespaceBusyError,
  PayloadTooLargeError,
  type SessionFeature,
  SessionRequiredError,
  type UnavailableReason,
  UnknownNamespaceError,
  WalboxError,
  type WalboxErrorCode,
} from './errors.js';
export type { Executor, KyselyLike, PgLike } from './executor.js';
export type { DrizzleLike, KnexLike, PrismaLike } from './executors/orm-executors.js';
export { Inbox, type InboxOptions } from './inbox.js';
export type { ScheduleInput } from './jobs/job-input.js';
export type { Job, JobCounts, JobListFilter, JobState } from './jobs/job-rows.js';
export { type JobContext, type JobHandler, jobSink } from './jobs/job-sink.js';
export type { JobQueue, Scheduled } from './jobs/jobs.js';
export type { JobQueueOptions, JobSinkConfig } from './jobs/jobs-config.js';
export type { MaintenanceResult } from './maintenance.js';
export type { MigrateResult } from './migrate.js';
export type { MutationPart, MutationRef, MutationStatus, Mutations, PartState } from './mutations.js';
export type { NamespaceConfig, NamespaceConfigInput } from './namespace-config.js';
export type { Namespaces, UpsertOptions } from './namespaces.js';
export {
  createLogger,
  type LoggerOptions,
  type LogLevel,
  logDispatcher,
  type WalboxLogger,
} from './observability/logger.js';
export { createMetrics, type MetricsOptions, WalboxMetrics } from './observability/metrics.js';
export { type MetricsServer, serveMetrics } from './observability/metrics-server.js';
export { producerContext, TRACEPARENT } from './observability/tracing.js';
export { redactSecrets } from './redact.js';
export type { MutationReplayOptions, RangeReplayOptions, ReplayOptions } from './replay.js';
export type { WalboxRoles } from './roles.js';
export { LOG_START, type LogPosition, type ReadResult } from './snapshot-reader.js';
export type { PartitionStatus, StatusOptions, TargetStatus } from './status.js';
export { type TypedEntryInput, TypedNamespace } from './typed-namespace.js';
export { Walbox } from './walbox.js';
export type { WalboxConfig } from './walbox-config.js';
