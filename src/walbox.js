import pg from 'pg';
import { appendEntries } from './append.js';
import { readAudit } from './audit.js';
import { captureTable, uncaptureTable } from './capture.js';
import { explainError } from './database-errors.js';
import { DeadLetters } from './dead-letters.js';
import { Dispatcher } from './dispatch/dispatcher.js';
import { toQueryable } from './executor.js';
import { Inbox } from './inbox.js';
import { maintain } from './maintenance.js';
import { migrate } from './migrate.js';
import { Mutations } from './mutations.js';
import { Namespaces } from './namespaces.js';
import { replay } from './replay.js';
import { readBatch } from './snapshot-reader.js';
import { sqlContext } from './sql/context.js';
import { readStatus } from './status.js';
import { TypedNamespace } from './typed-namespace.js';
import { resolveWalboxConfig } from './walbox-config.js';
export class Walbox {
    /** The validated schema name, unquoted. */
    schema;
    namespaces;
    deadLetters;
    /** User mutations (a source transaction's entries) and where each part stands at its targets. */
    mutations;
    pool;
    #ownsPool;
    #sql;
    #onError;
    /** Running dispatchers of this walbox: where background errors go when no onError was given. */
    #dispatchers = new Set();
    #closed = false;
    constructor(config) {
        const c = resolveWalboxConfig(config);
        this.schema = c.schema;
        this.#ownsPool = c.pool === undefined;
        this.#onError = c.onError;
        this.pool = c.pool ?? this.#createPool(c.connectionString);
        this.#sql = sqlContext(toQueryable(this.pool), c.schema);
        this.namespaces = new Namespaces(this.#sql, c.namespaceCacheMs);
        this.deadLetters = new DeadLetters(this.#sql);
        this.mutations = new Mutations(this.#sql);
    }
    /**
     * The pool behind `connectionString`. An idle client whose connection is lost makes the pool emit 'error',
     * which would end the process without a listener: it is reported instead, and the next query reconnects.
     */
    #createPool(connectionString) {
        const pool = new pg.Pool({
            connectionString,
            // Without a timeout, a query waits forever for a connection to a server that does not answer.
            connectionTimeoutMillis: 10_000,
            keepAlive: true,
        });
        pool.on('error', (err) => this.#reportError(err));
        return pool;
    }
    #reportError(driverError) {
        const err = explainError(driverError);
        if (this.#onError)
            this.#onError(err);
        else if (this.#dispatchers.size === 0)
            console.error('walbox:', err);
        else
            for (const d of this.#dispatchers)
                d.reportError(err);
    }
    /** Creates or upgrades walbox's tables in its schema. Safe to run concurrently from many processes. */
    migrate() {
        return migrate(this.pool, this.schema);
    }
    /** Appends one entry on the caller's executor: durable when its transaction commits, gone if it rolls back. */
    async append(executor, entry) {
        const [stored] = await appendEntries(this.#sql, this.namespaces, executor, [entry]);
        return stored;
    }
    /** Appends many entries in one statement (one round trip), all or nothing. */
    async appendMany(executor, entries) {
        return appendEntries(this.#sql, this.namespaces, executor, entries);
    }
    /** A handle whose appends are type-checked against `payloadSchema` at compile time and at run time. */
    namespace(name, payloadSchema) {
        return new TypedNamespace(name, payloadSchema, (executor, entries) => this.appendMany(executor, entries));
    }
    /** Installs a trigger that appends every INSERT/UPDATE/DELETE of `table` with before and after images. */
    captureTable(table, options, executor) {
        return captureTable(this.#on(executor), table, options);
    }
    uncaptureTable(table, executor) {
        return uncaptureTable(this.#on(executor), table);
    }
    /**
     * Reads the next batch of one (namespace, partition) after `position` (start from LOG_START), in log order.
     * The building block of the dispatcher; also handy for ad-hoc consumers and tests.
     */
    readBatch(where, position, limit = 1000, executor) {
        return readBatch(this.#on(executor), { namespace: where.namespace, partition: where.partition ?? 0 }, position, limit);
    }
    /**
     * A dispatcher delivering this walbox's log to `sinks` (keyed by target name). Call start() on it.
     * Several processes may run dispatchers on one database; they share the partitions.
     */
    dispatcher(options) {
        const { sinks, ...rest } = options;
        const dispatcher = new Dispatcher({
            pool: this.pool,
            sql: this.#sql,
            namespaces: this.namespaces,
        }, sinks, rest);
        dispatcher.once('started', () => this.#dispatchers.add(dispatcher));
        dispatcher.once('stopped', () => this.#dispatchers.delete(dispatcher));
        return dispatcher;
    }
    /**
     * Re-delivers a range of the log to one target, skipping `exclude`; or, given `transactionId`, one user
     * mutation (every entry of that source transaction) to each of its targets or to `target`. Returns how
     * many (entry, target) pairs were queued.
     */
    replay(options) {
        return replay(this.#sql, options);
    }
    /**
     * How far each target is behind: per (namespace, target) and per partition, the entries not delivered
     * yet, the lag of the oldest, what is parked, blocked or dead-lettered, and which dispatcher drains it.
     */
    status(options) {
        return readStatus(this.#sql, options);
    }
    /** The newest rows of the audit view that match (key, namespace, actor), oldest first. */
    audit(filter) {
        return readAudit(this.#sql, filter);
    }
    /** An inbox: consumers of a bus record processed message ids in their own transactions (see Inbox). */
    inbox(name, options) {
        return new Inbox(this.#sql, name, options);
    }
    /** Creates upcoming day partitions and drops expired, fully delivered ones (dispatchers also do this). */
    maintain() {
        return maintain(this.#sql);
    }
    /** The LISTEN/NOTIFY channel appends and operator actions wake dispatchers on. */
    get channel() {
        return this.#sql.channel;
    }
    /** The SQL context over the caller's executor, or the pool. */
    #on(executor) {
        return executor ? this.#sql.on(toQueryable(executor)) : this.#sql;
    }
    /** Ends the pool if walbox created it; a pool passed in stays the caller's to end. Idempotent. */
    async close() {
        if (this.#closed)
            return;
        this.#closed = true;
        if (this.#ownsPool)
            await this.pool.end();
    }
}
//# sourceMappingURL=walbox.js.map