export class WalboxError extends Error {
    code;
    constructor(code, message, options) {
        super(message, options);
        this.name = new.target.name;
        this.code = code;
    }
}
/** A namespace or Walbox configuration failed validation; `field` is the dotted path of the first bad field. */
export class InvalidConfigError extends WalboxError {
    field;
    constructor(field, message, options) {
        super('INVALID_CONFIG', `invalid config: ${field}: ${message}`, options);
        this.field = field;
    }
}
/** A schema, namespace, target, table or column name that walbox will not use. */
export class InvalidNameError extends WalboxError {
    kind;
    value;
    constructor(kind, value, rule) {
        super('INVALID_NAME', `invalid ${kind} name ${JSON.stringify(value)}: ${rule}`);
        this.kind = kind;
        this.value = value;
    }
}
/** An entry was rejected before anything was sent to Postgres. `index` is its position in appendMany. */
export class InvalidEntryError extends WalboxError {
    field;
    index;
    constructor(code, field, message, index, options) {
        super(code, `${index === undefined ? '' : `entries[${index}].`}${field}: ${message}`, options);
        this.field = field;
        this.index = index;
    }
}
export class PayloadTooLargeError extends WalboxError {
    bytes;
    limit;
    namespace;
    index;
    constructor(bytes, limit, namespace, index) {
        super('PAYLOAD_TOO_LARGE', `${index === undefined ? '' : `entries[${index}].`}payload is ${bytes} bytes, over the ${limit}-byte limit of namespace "${namespace}"`);
        this.bytes = bytes;
        this.limit = limit;
        this.namespace = namespace;
        this.index = index;
    }
}
/**
 * Postgres's append function refused an entry (a SQL caller's append, or an SDK append that raced a namespace
 * change): the same checks as the SDK's, made in the database. `sqlState` is the WB00n state it raised.
 */
export class EntryRejectedError extends WalboxError {
    sqlState;
    constructor(code, sqlState, message, options) {
        super(code, message, options);
        this.sqlState = sqlState;
    }
}
export class UnknownNamespaceError extends WalboxError {
    namespace;
    constructor(namespace, options) {
        super('UNKNOWN_NAMESPACE', `unknown namespace "${namespace}": create it with walbox.namespaces.upsert()`, options);
        this.namespace = namespace;
    }
}
export class MigrationError extends WalboxError {
    constructor(message, options) {
        super('MIGRATION_FAILED', message, options);
    }
}
/**
 * A change of a namespace's `partitions` or `ordering` was refused, and nothing was changed: entries of it
 * are not yet applied by every target (`pending`; `capped` when counting stopped early, so there may be
 * more), or a transaction appending to it stayed open past the lock timeout (`pending` null).
 */
export class NamespaceBusyError extends WalboxError {
    namespace;
    pending;
    capped;
    constructor(namespace, pending, capped = false, options) {
        const force = 'or pass { force: true } (CLI: --force) to change it anyway, breaking per-key order for pending entries';
        const count = `${capped ? 'at least ' : ''}${pending} undelivered ${pending === 1 ? 'entry' : 'entries'}`;
        super('NAMESPACE_BUSY', pending === null
            ? `namespace "${namespace}" is busy: a transaction appending to it stayed open past the lock timeout; ` +
                `retry when it has ended, ${force}`
            : `namespace "${namespace}" has ${count} (not yet applied by every target): changing its partitions ` +
                'or ordering now would let newer entries of a key overtake them. Wait for the dispatchers to drain ' +
                `it (stop its producers first if it never drains), ${force}`, options);
        this.namespace = namespace;
        this.pending = pending;
        this.capped = capped;
    }
}
/**
 * A dispatcher refused to start: its connection is pooled per transaction (PgBouncer's pool_mode=transaction
 * or the like), where consecutive transactions of one client run on different server connections, and one
 * of its options needs a session: `wakeup: 'listen'` (a LISTEN stays on the server connection it ran on, so
 * notifications would go to whichever client uses it next) or `preparedStatements: true` on a pooler that
 * does not carry prepared statements across server connections (PgBouncer before 1.21).
 */
export class SessionRequiredError extends WalboxError {
    feature;
    constructor(feature, options) {
        const what = feature === 'listen'
            ? "wakeup: 'listen' needs a session of its own for LISTEN"
            : 'preparedStatements: true needs named prepared statements to outlive their transaction ' +
                '(PgBouncer carries them from 1.21 on, with max_prepared_statements set)';
        super('SESSION_REQUIRED', `${what}, but the dispatcher's connection is pooled per transaction (a PgBouncer in transaction ` +
            "pooling mode?). Behind a transaction-pooling PgBouncer use wakeup: 'poll' and preparedStatements: " +
            'false, or give the dispatcher a direct connection to Postgres (or a session-pooled one).', options);
        this.feature = feature;
    }
}
/**
 * Postgres refused or dropped a connection walbox needed in the background (a dispatcher's drain, its
 * supervisor, an idle pooled connection). walbox retries on its own and resumes when Postgres serves again;
 * this error says what happened, on the dispatcher's 'error' event (or Walbox's onError). `cause` is the
 * driver's error.
 */
export class DatabaseUnavailableError extends WalboxError {
    reason;
    constructor(reason, detail, options) {
        const what = {
            'connections-exhausted': 'Postgres has no connection slot left for walbox: free connections held elsewhere or raise max_connections',
            restarting: 'Postgres is shutting down or starting up',
            unreachable: 'Postgres does not accept connections',
            'connection-lost': 'a connection to Postgres was lost',
        }[reason];
        super('DATABASE_UNAVAILABLE', `${what} (${detail}); a running dispatcher retries and resumes on its own`, options);
        this.reason = reason;
    }
}
/**
 * A drain lost its lease on a partition (a heartbeat came too late and another dispatcher may hold it now):
 * the step wrote nothing and the drain ends; whoever holds the lease re-offers the same entries.
 */
export class LeaseLostError extends WalboxError {
    partition;
    constructor(partition, options) {
        super('LEASE_LOST', `drain lease of ${partition.namespace}/${partition.target}/${partition.partition} lapsed`, options);
        this.partition = partition;
    }
}
/**
 * An inbox refused a call: a message id that is not 1 to 512 bytes of text without NUL (`INVALID_MESSAGE_ID`),
 * or a transaction that is not READ COMMITTED (`INBOX_ISOLATION`), where the check for an earlier accept of
 * the same message could miss one committed meanwhile.
 */
export class InboxError extends WalboxError {
    inbox;
    constructor(code, inbox, message, options) {
        super(code, message, options);
        this.inbox = inbox;
    }
}
//# sourceMappingURL=errors.js.map