import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type pg from 'pg';
import { explainError } from '../database-errors.js';
import { DatabaseUnavailableError } from '../errors.js';
import { maintain } from '../maintenance.js';
import type { Namespaces } from '../namespaces.js';
import type { Sql } from '../sql/context.js';
import {
  type DispatcherOptions,
  type ResolvedDispatcherConfig,
  resolveDispatcherConfig,
} from './dispatcher-config.js';
import { type DispatcherEvents, emitStep } from './dispatcher-events.js';
import { DrainQueue } from './drain-queue.js';
import { NotificationRouter } from './notification-router.js';
import { type DrainEnd, PartitionDrain } from './partition-drain.js';
import { assertSessionFeatures } from './session-probe.js';
import type { Sink } from './sink.js';
import type { PartitionRef } from './step-types.js';
import { Supervisor } from './supervisor.js';
import { WorkFinder } from './work-finder.js';

/** What the dispatcher needs from Walbox: no more. */
export interface DispatcherDeps {
  pool: pg.Pool;
  sql: Sql;
  namespaces: Namespaces;
}

/**
 * The data plane in one process: the lifecycle and the partitions this process drains. Who drains what is
 * decided elsewhere: drain jobs come from the DrainQueue (pg-boss), are asked for by NOTIFY (the
 * NotificationRouter) and by the Supervisor, and a partition's cursor lease makes sure one process at a time
 * drains it, whichever process fetched its job.
 */
export class Dispatcher extends EventEmitter<DispatcherEvents> {
  readonly id = randomUUID();
  readonly config: ResolvedDispatcherConfig;
  readonly #sinks: ReadonlyMap<string, Sink>;
  readonly #active = new Map<string, { drain: PartitionDrain; done: Promise<DrainEnd> }>();
  /** When a drain of each partition was last asked for because of a NOTIFY. */
  readonly #notifiedAt = new Map<string, number>();
  /** When a drain job of each partition last found another process holding its lease. */
  readonly #heldElsewhereAt = new Map<string, number>();
  readonly #drainSql: Sql;
  readonly #supervisor: Supervisor;
  #queue: DrainQueue | undefined;
  #router: NotificationRouter | undefined;
  #stopping = new AbortController();
  #state: 'new' | 'starting' | 'started' | 'stopping' | 'stopped' = 'new';
  #startPromise: Promise<void> | undefined;
  #stopPromise: Promise<void> | undefined;
  #stopRequested = false;
  /**
   * While a start attempt runs: the errors its parts report (pg-boss retrying its connection, the listener),
   * held back. A failed attempt is reported once, by its own error, and these are dropped; a successful one
   * reports them after all. A Postgres that refused connections for 15 s made two dispatchers report 843.
   */
  #attemptErrors: unknown[] | undefined;

  constructor(
    private readonly deps: DispatcherDeps,
    sinks: Record<string, Sink>,
    options: DispatcherOptions = {},
  ) {
    super();
    this.config = resolveDispatcherConfig(options);
    if (Object.keys(sinks).length === 0) throw new TypeError('walbox: a dispatcher needs at least one sink');
    this.#sinks = new Map(Object.entries(sinks));
    const finder = new WorkFinder(deps.sql, [...this.#sinks.keys()], this.id);
    this.#supervisor = new Supervisor({
      find: () => finder.pending(),
      onPartition: (ref) => this.#drainSoon(ref),
      onError: (err) => this.#error(err),
      everyMs: this.config.wakeup === 'poll' ? this.config.pollIntervalMs : this.config.superviseMs,
    });
    const db = deps.sql.db;
    this.#drainSql = this.config.preparedStatements
      ? deps.sql
      : deps.sql.on({ query: (text, values) => db.query(text, values) }); // drops { prepare: true }
  }

  /**
   * Starts pg-boss workers, the wake-up listener and the supervisor. Idempotent. Fails with
   * SessionRequiredError when `wakeup: 'listen'` or `preparedStatements` cannot work on the pool's
   * connections (a PgBouncer in transaction pooling mode).
   */
  start(): Promise<void> {
    // A Postgres that cannot serve (restarting, out of connections, unreachable) is tried again for
    // startTimeoutMs, each failed attempt reported on 'error'; then start() fails with DatabaseUnavailableError,
    // which says why. Anything else (bad credentials, a missing schema, a transaction pooler) fails at once.
    this.#startPromise ??= this.#startRetrying();
    return this.#startPromise;
  }

  async #startRetrying(): Promise<void> {
    const deadline = Date.now() + this.config.startTimeoutMs;
    for (let wait = 250; ; wait = Math.min(wait * 2, 500)) {
      this.#attemptErrors = [];
      try {
        await this.#start();
        const held = this.#attemptErrors;
        this.#attemptErrors = undefined;
        for (const err of held) this.#error(err);
        return;
      } catch (err) {
        const explained = explainError(err);
        await this.#undoStart();
        this.#attemptErrors = undefined;
        const transient = explained instanceof DatabaseUnavailableError;
        if (!transient || this.#stopRequested || Date.now() + wait > deadline) throw explained;
        this.#error(explained); // one report per failed attempt
        this.#attemptErrors = []; // what the parts it stopped still say, until the next attempt, is dropped
        await delay(wait);
        if (this.#stopRequested) {
          this.#attemptErrors = undefined;
          throw explained;
        }
      }
    }
  }

  /** What a failed start attempt had started, stopped so that the next attempt starts afresh. */
  async #undoStart(): Promise<void> {
    const queue = this.#queue;
    const router = this.#router;
    this.#queue = undefined;
    this.#router = undefined;
    this.#state = 'new';
    await router?.stop().catch(() => {});
    await queue?.stop(0).catch(() => {});
  }

  async #start(): Promise<void> {
    this.#state = 'starting';
    const { pool, sql } = this.deps;
    // Before anything starts: behind a transaction pooler, LISTEN would never wake this process (silently)
    // and prepared statements would fail now and then.
    await assertSessionFeatures(pool.options, this.config);
    const queue = await DrainQueue.start(pool, sql.schemaName, (err) => this.#error(err));
    this.#queue = queue;
    const pollMs = Math.max(100, this.config.pollIntervalMs);
    for (const target of this.#sinks.keys()) {
      await queue.work(target, this.config.concurrency, pollMs, (ref) => this.#runDrain(ref));
    }
    // Partition upkeep and retention on a cron schedule: one dispatcher runs it each time.
    await queue.schedule('walbox_maintain', this.config.maintenanceCron, () => this.#maintain());
    // Make sure today's and the coming days' partitions exist before the first append of the day.
    this.#maintain().catch((err) => this.#error(err));
    if (this.config.wakeup === 'listen') {
      this.#router = new NotificationRouter({
        connection: pool.options,
        channel: sql.channel,
        db: sql.db,
        namespaces: this.deps.namespaces,
        targets: new Set(this.#sinks.keys()),
        onPartition: (ref) => this.#notified(ref),
        // Notifications sent while the connection was down are lost: look for work now, not at the next tick.
        onReconnected: () => void this.#supervisor.run(),
        onError: (err) => this.#error(err),
      });
      await this.#router.start();
    }
    this.#state = 'started';
    await this.#supervisor.start();
    this.emit('started');
  }

  /**
   * Graceful stop: no new batches; in-flight ones finish (or are abandoned after stopTimeoutMs, to be
   * re-delivered later); leases are released and their partitions handed to other dispatchers. Idempotent.
   */
  stop(): Promise<void> {
    this.#stopRequested = true; // a start() still retrying gives up
    this.#stopPromise ??= this.#stop();
    return this.#stopPromise;
  }

  async #stop(): Promise<void> {
    await this.#startPromise?.catch(() => {});
    this.#state = 'stopping';
    this.#supervisor.stop();
    // Fetch no more jobs while in-flight batches finish: this process would drop them, among them the ones its
    // drains ask for below to hand their partitions over (left to another dispatcher's supervisor then).
    const loopsStopped = this.#queue?.stopWorking();
    this.#stopping.abort(new Error('dispatcher stopping'));
    await this.#router?.stop();
    const drains = [...this.#active.values()].map((a) => a.done.catch(() => {}));
    await Promise.race([Promise.all([...drains, loopsStopped]), delay(this.config.stopTimeoutMs)]);
    await this.#queue?.stop(this.config.stopTimeoutMs);
    await Promise.all([...this.#sinks.values()].map((s) => s.close?.().catch((err) => this.#error(err))));
    this.#state = 'stopped';
    this.emit('stopped');
  }

  async #maintain(): Promise<void> {
    await maintain(this.deps.sql);
  }

  /** A drain job fetched from the queue: drain the partition, then hand it on or schedule its next wake-up. */
  async #runDrain(ref: PartitionRef): Promise<void> {
    const sink = this.#sinks.get(ref.target);
    // Fetched just as this process began to stop: pass it on rather than drop it.
    if (sink && this.#state === 'stopping') return this.#request(ref).catch((err) => this.#error(err));
    if (!sink || this.#state !== 'started') return;
    const k = refKey(ref);
    if (this.#active.has(k)) return; // this process already drains it
    const drain = new PartitionDrain(this.#drainSql, ref, this.id, sink, this.deps.namespaces, this.config, {
      onStep: (r, outcome) => emitStep(this, r, outcome),
      onError: (err) => this.#error(err),
      othersWaiting: async () => (await this.#queue?.waiting(ref.target)) === true,
    });
    const done = drain.run(this.#stopping.signal);
    this.#active.set(k, { drain, done });
    // NOTIFYs from now on may name entries this drain never reads: none may be throttled for the job that
    // started it (see #notified).
    this.#notifiedAt.delete(k);
    try {
      const end = await done;
      // From here a NOTIFY asks for a drain (#notified). One that came while the drain was letting its
      // partition go (after its last read) only woke it: ask for the drain it would have asked for.
      this.#active.delete(k);
      if (end.reason === 'idle' && drain.wakeup.woken) await this.#request(ref);
      if (end.reason === 'busy') this.#heldElsewhereAt.set(k, Date.now());
      else this.#heldElsewhereAt.delete(k);
      if (end.reason === 'lease-lost') this.emit('lease-lost', ref);
      if (end.reason === 'yield' || end.reason === 'stopped') {
        await this.#request(ref); // hand the partition on: any dispatcher may pick it up
      } else if (end.reason === 'idle' && end.nextDue) {
        await this.#request(ref, end.nextDue); // pg-boss wakes delayed and backed-off entries
      }
    } catch (err) {
      this.#error(err);
    } finally {
      if (this.#active.get(k)?.drain === drain) this.#active.delete(k);
    }
  }

  /** Asks for a drain of `ref` (by any dispatcher), now or at `at`. */
  async #request(ref: PartitionRef, at?: Date): Promise<void> {
    const expireSeconds = Math.ceil((this.config.maxDrainMs + this.config.applyTimeoutMs) / 1000) + 30;
    await this.#queue?.request(ref, expireSeconds, at);
  }

  /** The supervisor found work: wake this process's drain of it, or ask for one. */
  async #drainSoon(ref: PartitionRef): Promise<void> {
    const running = this.#active.get(refKey(ref));
    if (running) running.drain.wakeup.wake();
    else await this.#request(ref);
  }

  /**
   * A NOTIFY named the partition: wake this process's drain of it, or ask for one (a cold partition, or one
   * drained elsewhere: pg-boss keeps one queued job per partition, and it is asked at most every 100 ms).
   */
  async #notified(ref: PartitionRef): Promise<void> {
    if (this.#state !== 'started') return;
    const k = refKey(ref);
    const running = this.#active.get(k);
    if (running) return running.drain.wakeup.wake();
    const now = Date.now();
    // Drained by another process a moment ago: its holder got the same NOTIFY (and asks for a drain itself
    // once it lets the partition go). A job now would only find the lease taken: in chaos scenario 5, 14 of
    // 15 drain jobs a second did, each an insert, fetches, a lease attempt and a complete.
    const gap = now - (this.#heldElsewhereAt.get(k) ?? 0) < 1000 ? 1000 : 100;
    if (now - (this.#notifiedAt.get(k) ?? 0) < gap) return;
    this.#notifiedAt.set(k, now);
    await this.#request(ref);
  }

  /** util.inspect shows the id and targets only: not the pool, whose options hold the connection string. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `Dispatcher ${JSON.stringify({ id: this.id, targets: [...this.#sinks.keys()] })}`;
  }

  /** Reports an error that belongs to no call: the 'error' event, or console.error without a listener. */
  reportError(err: unknown): void {
    this.#error(err);
  }

  #error(err: unknown): void {
    if (this.#attemptErrors) {
      if (this.#attemptErrors.length < 20) this.#attemptErrors.push(err);
      return;
    }
    const explained = explainError(err);
    const error = explained instanceof Error ? explained : new Error(String(explained));
    if (this.listenerCount('error') > 0) this.emit('error', error);
    else console.error('walbox dispatcher:', error);
  }
}

function refKey(ref: PartitionRef): string {
  return `${ref.namespace}/${ref.target}/${ref.partition}`;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
