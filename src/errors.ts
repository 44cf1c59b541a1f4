/** Stable codes callers can branch on without parsing messages. */
export type WalboxErrorCode =
  | 'INVALID_CONFIG'
  | 'INVALID_NAME'
  | 'INVALID_ENTRY'
  | 'MISSING_KEY'
  | 'PAYLOAD_NOT_SERIALIZABLE'
  | 'PAYLOAD_TOO_LARGE'
  | 'BATCH_TOO_LARGE'
  | 'PAYLOAD_SCHEMA_MISMATCH'
  | 'DELAY_OUT_OF_RANGE'
  | 'UNKNOWN_NAMESPACE'
  | 'MIGRATION_FAILED'
  | 'NAMESPACE_BUSY'
  | 'SESSION_REQUIRED'
  | 'DATABASE_UNAVAILABLE'
  | 'LEASE_LOST'
  | 'INVALID_MESSAGE_ID'
  | 'INBOX_ISOLATION'
  | 'SINK_THREW'
  | 'SINK_TIMEOUT'
  | 'SINK_BAD_RESULT';

export class WalboxError extends Error {
  readonly code: WalboxErrorCode;
  constructor(code: WalboxErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A namespace or Walbox configuration failed validation; `field` is the dotted path of the first bad field. */
export class InvalidConfigError extends WalboxError {
  readonly field: string;
  constructor(field: string, message: string, options?: { cause?: unknown }) {
    super('INVALID_CONFIG', `invalid config: ${field}: ${message}`, options);
    this.field = field;
  }
}

/** A schema, namespace, target, table or column name that walbox will not use. */
export class InvalidNameError extends WalboxError {
  constructor(
    readonly kind: string,
    readonly value: unknown,
    rule: string,
  ) {
    super('INVALID_NAME', `invalid ${kind} name ${JSON.stringify(value)}: ${rule}`);
  }
}

type EntryErrorCode =
  | 'INVALID_ENTRY'
  | 'MISSING_KEY'
  | 'PAYLOAD_NOT_SERIALIZABLE'
  | 'PAYLOAD_SCHEMA_MISMATCH'
  | 'DELAY_OUT_OF_RANGE';

/** An entry was rejected before anything was sent to Postgres. `index` is its position in appendMany. */
export class InvalidEntryError extends WalboxError {
  constructor(
    code: EntryErrorCode,
    readonly field: string,
    message: string,
    readonly index?: number,
    options?: { cause?: unknown },
  ) {
    super(code, `${index === undefined ? '' : `entries[${index}].`}${field}: ${message}`, options);
  }
}

export class PayloadTooLargeError extends WalboxError {
  constructor(
    readonly bytes: number,
    readonly limit: number,
    readonly namespace: string,
    readonly index?: number,
  ) {
    super(
      'PAYLOAD_TOO_LARGE',
      `${index === undefined ? '' : `entries[${index}].`}payload is ${bytes} bytes, over the ${limit}-byte limit of namespace "${namespace}"`,
    );
  }
}

/**
 * An entry over its namespace's `maxPayloadBytes`, counted over the whole entry: the UTF-8 bytes of its key,
 * op, idempotency key and actor, and of the JSON of its payload, before and headers (null counts 0). `parts`
 * has each one's bytes; `field` names the largest.
 */
export class EntryTooLargeError extends PayloadTooLargeError {
  readonly field: string;
  constructor(
    bytes: number,
    limit: number,
    namespace: string,
    readonly parts: Readonly<Record<string, number>>,
    index?: number,
  ) {
    super(bytes, limit, namespace, index);
    const largest = Object.entries(parts).sort((a, b) => b[1] - a[1]);
    this.field = largest[0]?.[0] ?? 'payload';
    const listed = largest
      .filter(([, n]) => n > 0)
      .map(([part, n]) => `${part} ${n}`)
      .join(', ');
    this.message =
      `${index === undefined ? '' : `entries[${index}]: `}entry is ${bytes} bytes (${listed}), over the ` +
      `${limit}-byte limit (maxPayloadBytes) of namespace "${namespace}"`;
  }
}

/** Which cap of appendMany a batch went over. */
export type BatchLimit = 'maxBatchEntries' | 'maxBatchBytes';

/**
 * appendMany refused a batch before sending anything: more entries than `maxBatchEntries`, or more bytes of
 * encoded entries than `maxBatchBytes` (`actual` is the count, or the bytes encoded when the cap was passed).
 */
export class BatchTooLargeError extends WalboxError {
  constructor(
    readonly limit: BatchLimit,
    readonly actual: number,
    readonly max: number,
  ) {
    super(
      'BATCH_TOO_LARGE',
      limit === 'maxBatchEntries'
        ? `appendMany was given ${actual} entries, over the limit of ${max} (maxBatchEntries): split the batch`
        : `appendMany's entries passed ${max} bytes (maxBatchBytes) at ${actual} bytes: split the batch`,
    );
  }
}

/**
 * Postgres's append function refused an entry (a SQL caller's append, or an SDK append that raced a namespace
 * change): the same checks as the SDK's, made in the database. `sqlState` is the WB00n state it raised.
 */
export class EntryRejectedError extends WalboxError {
  constructor(
    code: 'INVALID_ENTRY' | 'PAYLOAD_TOO_LARGE' | 'DELAY_OUT_OF_RANGE',
    readonly sqlState: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

export class UnknownNamespaceError extends WalboxError {
  constructor(
    readonly namespace: string,
    options?: { cause?: unknown },
  ) {
    super(
      'UNKNOWN_NAMESPACE',
      `unknown namespace "${namespace}": create it with walbox.namespaces.upsert()`,
      options,
    );
  }
}

export class MigrationError extends WalboxError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('MIGRATION_FAILED', message, options);
  }
}

/**
 * A change of a namespace's `partitions` or `ordering` was refused, and nothing was changed: entries of it
 * are not yet applied by every target (`pending`; `capped` when counting stopped early, so there may be
 * more), or a transaction appending to it stayed open past the lock timeout (`pending` null).
 */
export class NamespaceBusyError extends WalboxError {
  constructor(
    readonly namespace: string,
    readonly pending: number | null,
    readonly capped = false,
    options?: { cause?: unknown },
  ) {
    const force =
      'or pass { force: true } (CLI: --force) to change it anyway, breaking per-key order for pending entries';
    const count = `${capped ? 'at least ' : ''}${pending} undelivered ${pending === 1 ? 'entry' : 'entries'}`;
    super(
      'NAMESPACE_BUSY',
      pending === null
        ? `namespace "${namespace}" is busy: a transaction appending to it stayed open past the lock timeout; ` +
            `retry when it has ended, ${force}`
        : `namespace "${namespace}" has ${count} (not yet applied by every target): changing its partitions ` +
            'or ordering now would let newer entries of a key overtake them. Wait for the dispatchers to drain ' +
            `it (stop its producers first if it never drains), ${force}`,
      options,
    );
  }
}

/** A feature that needs a Postgres session of its own, which a transaction-pooled connection is not. */
export type SessionFeature = 'listen' | 'prepared-statements';

/**
 * A dispatcher refused to start, or an append with `preparedStatements` failed: the connection is pooled per
 * transaction (PgBouncer's pool_mode=transaction or the like), where consecutive transactions of one client
 * run on different server connections, and an option needs a session: `wakeup: 'listen'` (a LISTEN stays on the server connection it ran on, so
 * notifications would go to whichever client uses it next) or `preparedStatements: true` on a pooler that
 * does not carry prepared statements across server connections (PgBouncer before 1.21).
 */
export class SessionRequiredError extends WalboxError {
  constructor(
    readonly feature: SessionFeature,
    options?: { cause?: unknown },
  ) {
    const what =
      feature === 'listen'
        ? "wakeup: 'listen' needs a session of its own for LISTEN"
        : 'preparedStatements: true needs named prepared statements to outlive their transaction ' +
          '(PgBouncer carries them from 1.21 on, with max_prepared_statements set)';
    super(
      'SESSION_REQUIRED',
      `${what}, but the connection is pooled per transaction (a PgBouncer in transaction pooling mode?). ` +
        "Behind a transaction-pooling PgBouncer use wakeup: 'poll' and preparedStatements: false for " +
        "dispatchers (and leave new Walbox()'s preparedStatements off, its default, for appends), or give " +
        'walbox a direct connection to Postgres (or a session-pooled one).',
      options,
    );
  }
}

/** Why Postgres could not serve walbox for a while. */
export type UnavailableReason = 'connections-exhausted' | 'restarting' | 'unreachable' | 'connection-lost';

/**
 * Postgres refused or dropped a connection walbox needed in the background (a dispatcher's drain, its
 * supervisor, an idle pooled connection). walbox retries on its own and resumes when Postgres serves again;
 * this error says what happened, on the dispatcher's 'error' event (or Walbox's onError). `cause` is the
 * driver's error.
 */
export class DatabaseUnavailableError extends WalboxError {
  constructor(
    readonly reason: UnavailableReason,
    detail: string,
    options?: { cause?: unknown },
  ) {
    const what = {
      'connections-exhausted':
        'Postgres has no connection slot left for walbox: free connections held elsewhere or raise max_connections',
      restarting: 'Postgres is shutting down or starting up',
      unreachable: 'Postgres does not accept connections',
      'connection-lost': 'a connection to Postgres was lost',
    }[reason];
    super(
      'DATABASE_UNAVAILABLE',
      `${what} (${detail}); a running dispatcher retries and resumes on its own`,
      options,
    );
  }
}

/**
 * A drain lost its lease on a partition (a heartbeat came too late and another dispatcher may hold it now):
 * the step wrote nothing and the drain ends; whoever holds the lease re-offers the same entries.
 */
export class LeaseLostError extends WalboxError {
  constructor(
    readonly partition: { namespace: string; target: string; partition: number },
    options?: { cause?: unknown },
  ) {
    super(
      'LEASE_LOST',
      `drain lease of ${partition.namespace}/${partition.target}/${partition.partition} lapsed`,
      options,
    );
  }
}

/**
 * An inbox refused a call: a message id that is not 1 to 512 bytes of text without NUL (`INVALID_MESSAGE_ID`),
 * or a transaction that is not READ COMMITTED (`INBOX_ISOLATION`), where the check for an earlier accept of
 * the same message could miss one committed meanwhile.
 */
export class InboxError extends WalboxError {
  constructor(
    code: 'INVALID_MESSAGE_ID' | 'INBOX_ISOLATION',
    readonly inbox: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}
