import { SinkConfigError } from '@walbox/sink-kit';

/** An index sink config failed validation; `field` is the dotted path of the first bad field. */
export class IndexSinkConfigError extends SinkConfigError {
  constructor(field: string, message: string, options?: { cause?: unknown }) {
    super(field, message, { ...options, sink: 'index' });
    this.name = 'IndexSinkConfigError';
  }
}

/** Two or more keys hold one value of a unique index. */
export interface UniqueViolation {
  namespace: string;
  index: string;
  value: string;
  /** Every key holding the value (or that would hold it, for a change refused under 'fail'), sorted. */
  keys: string[];
  /** The entry whose change claimed the value; undefined when a rebuild found the violation. */
  entryId: string | undefined;
}

/**
 * A change claimed a value of a unique index that another key holds (onUniqueViolation 'fail'): the entry
 * fails, so the dispatcher retries it and, once its retries are exhausted, dead-letters it. Also thrown by
 * lookupOne when a value is held by several keys (kept under onUniqueViolation as a function).
 */
export class UniqueViolationError extends Error {
  readonly code = 'UNIQUE_VIOLATION';
  constructor(readonly violation: UniqueViolation) {
    super(
      `unique index ${violation.index}: value ${JSON.stringify(violation.value)} is claimed by keys ${violation.keys
        .map((k) => JSON.stringify(k))
        .join(', ')}${violation.entryId ? ` (entry ${violation.entryId})` : ''}`,
    );
    this.name = 'UniqueViolationError';
  }
}

/** An index's extract threw or returned something that is not an index value: the entry fails. */
export class IndexExtractError extends Error {
  readonly code = 'INDEX_EXTRACT';
  constructor(
    readonly index: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`index ${index}: ${message}`, options);
    this.name = 'IndexExtractError';
  }
}

/** lookup, lookupOne, violations or rebuild named an index the sink's config does not define. */
export class UnknownIndexError extends Error {
  readonly code = 'UNKNOWN_INDEX';
  constructor(readonly index: string) {
    super(`no index named ${JSON.stringify(index)} in this sink's config`);
    this.name = 'UnknownIndexError';
  }
}

/**
 * A rebuild could not go on: another rebuild of the index is building a generation (`force` takes it over),
 * or the generation this one was building was taken over or abandoned.
 */
export class RebuildError extends Error {
  readonly code = 'REBUILD_CONFLICT';
  constructor(
    readonly index: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`rebuild of index ${index}: ${message}`, options);
    this.name = 'RebuildError';
  }
}
