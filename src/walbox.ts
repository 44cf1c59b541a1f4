import pg from 'pg';
import type { z } from 'zod';
import { type AppendOptions, appendEntries } from './append.js';
import { type AuditFilter, type AuditRow, readAudit } from './audit.js';
import { type BackfillOptions, type BackfillProgress, backfill } from './backfill.js';
import { type CaptureOptions, captureTable, uncaptureTable } from './capture.js';
import { explainError } from './database-errors.js';
import { DeadLetters } from './dead-letters.js';
import { Dispatcher } from './dispatch/dispatcher.js';
import type { DispatcherOptions } from './dispatch/dispatcher-config.js';
import type { Sink } from './dispatch/sink.js';
import type { AppendedEntry, EntryInput } from './entry.js';
import type { EntryLimits } from './entry-encoding.js';
import { InvalidConfigError } from './errors.js';
import { type Executor, toQueryable } from './executor.js';
import { Inbox, type InboxOptions } from './inbox.js';
import { JobQueue } from './jobs/jobs.js';
import type { JobQueueOptions } from './jobs/jobs-config.js';
import { type MaintenanceResult, maintain } from './maintenance.js';
import { type MigrateResult, migrate } from './migrate.js';
import { Mutations } from './mutations.js';
import { Namespaces } from './namespaces.js';
import { describeConnection, INSPECT } from './redact.js';
import { type ReplayOptions, replay } from './replay.js';
import { applyRoles, roleNames, roleStatements, type WalboxRoles } from './roles.js';
import { type LogPosition, type ReadResult, readBatch } from './snapshot-reader.js';
import { type Sql, sqlContext } from './sql/context.js';
import { readStatus, type StatusOptions, type TargetStatus } from './status.js';
import { TypedNamespace } from './typed-namespace.js';
import { resolveWalboxConfig, type WalboxConfig } from './walbox-config.js';

export class Walbox {
  /** The validated schema name, unquoted. */
  readonly schema: string;
  readonly namespaces: Namespaces;
  readonly deadLetters: DeadLetters;
  /** User mutations (a source transaction's entries) and where each part stands at its targets. */
  readonly mutations: Mutations;
  readonly pool: pg.Pool;
  readonly #ownsPool: boolean;
  readonly #sql: Sql;
  /** Limits of the append path (walbox-config.ts): at most the defaults the SQL side enforces. */
  readonly #limits: EntryLimits;
  readonly #appendOptions: AppendOptions;
  readonly #onError: ((err: Error) => void) | undefined;
  /** Running dispatchers of this walbox: where background errors go when no onError was given. */
  readonly #dispatchers = new Set<Dispatcher>();
  #closed = false;

  constructor(config: WalboxConfig) {
    const c = resolveWalboxConfig(config);
    this.#limits = c.limits;
    this.#appendOptions = { limits: c.limits, prepare: c.preparedStatements };
    this.schema = c.schema;
    this.#ownsPool = c.pool === undefined;
    this.#onError = c.onError;
    this.pool = c.pool ?? this.#createPool(c.connectionString!);
    this.#sql = sqlContext(toQueryable(this.pool), c.schema);
    this.namespaces = new Namespaces(this.#sql, c.namespaceCacheMs);
    this.deadLetters = new DeadLetters(this.#sql, this.pool);
    this.mutations = new Mutations(this.#sql);
  }

  /** What util.inspect and console.log show: the schema and where it connects, never a password. */
  [INSPECT](depth: number, options: object, inspect: (value: unknown, options: object) => string): string {
    const shown = {
      schema: this.schema,
      database: describeConnection(this.pool.options),
      closed: this.#closed,
    };
    return `Walbox ${inspect(shown, { ...options, depth })}`;
  }

  /**
   * The pool behind `connectionString`. An idle client whose connection is lost makes the pool emit 'error',
   * which would end the process without a listener: it is reported instead, and the next query reconnects.
   */
  #createPool(connectionString: string): pg.Pool {
    const pool = new pg.Pool({
      connectionString,
      // Without a timeout, a query waits forever for a connection to a server that does not answer.
      connectionTimeoutMillis: 10_000,
      keepAlive: true,
    });
    pool.on('error', (err) => this.#reportError(err));
    return pool;
  }

  #reportError(driverError: Error): void {
    const err = explainError(driverError) as Error;
    if (this.#onError) this.#onError(err);
    else if (this.#dispatchers.size === 0) console.error('walbox:', err);
    else for (const d of this.#dispatchers) d.reportError(err);
  }

  /**
   * The producer, dispatcher and auditor roles of this schema (docs/security.md): their names and the
   * statements that create them and grant their rights, for DBAs who run them themselves.
   */
  roles(options: { prefix?: string } = {}): { names: WalboxRoles; statements: string[] } {
    const names = roleNames(this.schema, options.prefix);
    return { names, statements: roleStatements(this.schema, names) };
  }

  /** Creates the roles (when missing) and grants their rights, in one transaction. Run it after migrate(). */
  async createRoles(options: { prefix?: string } = {}): Promise<WalboxRoles> {
    const names = roleNames(this.schema, options.prefix);
    const client = await this.pool.connect();
    try {
      await applyRoles(toQueryable(client), this.schema, names);
    } finally {
      client.release();
    }
    return names;
  }

  /** Creates or upgrades walbox's tables in its schema. Safe to run concurrently from many processes. */
  migrate(): Promise<MigrateResult> {
    return migrate(this.pool, this.schema);
  }

  /** Appends one entry on the caller's executor: durable when its transaction commits, gone if it rolls back. */
  async append<P = unknown>(executor: Executor, entry: EntryInput<P>): Promise<AppendedEntry<P>> {
    const [stored] = await appendEntries(this.#sql, this.namespaces, executor, [entry], this.#appendOptions);
    return stored as AppendedEntry<P>;
  }

  /** Appends many entries in one statement (one round trip), all or nothing. */
  async appendMany(executor: Executor, entries: readonly EntryInput[]): Promise<AppendedEntry[]> {
    return appendEntries(this.#sql, this.namespaces, executor, entries, this.#appendOptions);
  }

  /** A handle whose appends are type-checked against `payloadSchema` at compile time and at run time. */
  namespace<S extends z.ZodType>(name: string, payloadSchema: S): TypedNamespace<S> {
    return new TypedNamespace(name, payloadSchema, (executor, entries) => this.appendMany(executor, entries));
  }

  /** Installs a trigger that appends every INSERT/UPDATE/DELETE of `table` with before and after images. */
  /**
   * Captures every later change of `table`. With `backfill`, then appends its existing rows too, in chunks
   * (see backfill()): a replica that starts empty ends equal to the table. A backfill commits chunk by chunk,
   * so it cannot run inside the caller's transaction: with an executor, call backfill() after committing.
   */
  async captureTable(
    table: string,
    options: CaptureOptions & { backfill?: boolean | BackfillOptions },
    executor?: Executor,
  ): Promise<BackfillProgress | undefined> {
    const { backfill: wanted, ...capture } = options;
    if (wanted && executor) {
      throw new InvalidConfigError(
        'backfill',
        'a backfill commits chunk by chunk: call captureTable without an executor, or backfill() after your commit',
      );
    }
    await captureTable(this.#on(executor), table, capture);
    if (!wanted) return undefined;
    return this.backfill(table, capture, wanted === true ? {} : wanted);
  }

  /**
   * Appends the existing rows of a captured table, in chunks of committed transactions that lock only their
   * own rows; resumes after a crash (progress in `<schema>.backfills`). See docs/operations.md.
   */
  backfill(
    table: string,
    target: { namespace: string; keyColumn: string },
    options?: BackfillOptions,
  ): Promise<BackfillProgress> {
    return backfill(this.#sql, this.pool, table, target, options);
  }

  uncaptureTable(table: string, executor?: Executor): Promise<void> {
    return uncaptureTable(this.#on(executor), table);
  }

  /**
   * Reads the next batch of one (namespace, partition) after `position` (start from LOG_START), in log order.
   * The building block of the dispatcher; also handy for ad-hoc consumers and tests.
   */
  readBatch(
    where: { namespace: string; partition?: number },
    position: LogPosition,
    limit = 1000,
    executor?: Executor,
  ): Promise<ReadResult> {
    return readBatch(
      this.#on(executor),
      { namespace: where.namespace, partition: where.partition ?? 0 },
      position,
      limit,
    );
  }

  /**
   * A dispatcher delivering this walbox's log to `sinks` (keyed by target name). Call start() on it.
   * Several processes may run dispatchers on one database; they share the partitions.
   */
  dispatcher(options: { sinks: Record<string, Sink> } & DispatcherOptions): Dispatcher {
    const { sinks, ...rest } = options;
    const dispatcher = new Dispatcher(
      {
        pool: this.pool,
        sql: this.#sql,
        namespaces: this.namespaces,
      },
      sinks,
      rest,
    );
    dispatcher.once('started', () => this.#dispatchers.add(dispatcher));
    dispatcher.once('stopped', () => this.#dispatchers.delete(dispatcher));
    return dispatcher;
  }

  /**
   * Re-delivers a range of the log to one target, skipping `exclude`; or, given `transactionId`, one user
   * mutation (every entry of that source transaction) to each of its targets or to `target`. Returns how
   * many (entry, target) pairs were queued.
   */
  replay(options: ReplayOptions): Promise<number> {
    return replay(this.#sql, this.pool, options);
  }

  /**
   * How far each target is behind: per (namespace, target) and per partition, the entries not delivered
   * yet, the lag of the oldest, what is parked, blocked or dead-lettered, and which dispatcher drains it.
   */
  status(options?: StatusOptions): Promise<TargetStatus[]> {
    return readStatus(this.#sql, options);
  }

  /** The newest rows of the audit view that match (key, namespace, actor), oldest first. */
  audit(filter?: AuditFilter): Promise<AuditRow[]> {
    return readAudit(this.#sql, filter);
  }

  /** An inbox: consumers of a bus record processed message ids in their own transactions (see Inbox). */
  inbox(name: string, options?: InboxOptions): Inbox {
    return new Inbox(this.#sql, name, options);
  }

  /**
   * A delayed-job queue: schedule, cancel and reschedule jobs in the caller's transaction; its `sink(handler)`
   * runs them through a dispatcher (see docs/jobs.md). Its namespace "jobs.<queue>" is created on first use.
   */
  jobs(queue: string, options?: JobQueueOptions): JobQueue {
    return new JobQueue(this.#sql, this.namespaces, this.pool, queue, options);
  }

  /** Creates upcoming day partitions and drops expired, fully delivered ones (dispatchers also do this). */
  maintain(): Promise<MaintenanceResult> {
    return maintain(this.#sql);
  }

  /** The LISTEN/NOTIFY channel appends and operator actions wake dispatchers on. */
  get channel(): string {
    return this.#sql.channel;
  }

  /** The SQL context over the caller's executor, or the pool. */
  #on(executor: Executor | undefined): Sql {
    return executor ? this.#sql.on(toQueryable(executor)) : this.#sql;
  }

  /** Ends the pool if walbox created it; a pool passed in stays the caller's to end. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#ownsPool) await this.pool.end();
  }
}
