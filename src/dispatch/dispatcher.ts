import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type pg from 'pg';
import PgBoss from 'pg-boss';
import { explainError } from '../database-errors.js';
import type { Entry } from '../entry.js';
import type { Queryable } from '../executor.js';
import { maintain } from '../maintenance.js';
import type { Namespaces } from '../namespaces.js';
import {
  type DispatcherOptions,
  type ResolvedDispatcherConfig,
  resolveDispatcherConfig,
} from './dispatcher-config.js';
import type { PartitionRef, StepOutcome } from './drain-step.js';
import { JobLoop } from './job-loop.js';
import { NotificationListener } from './notification-listener.js';
import { type DrainEnd, PartitionDrain } from './partition-drain.js';
import { assertSessionFeatures } from './session-probe.js';
import type { Sink } from './sink.js';
import { WorkFinder } from './work-finder.js';

export interface DispatcherEvents {
  delivered: [{ namespace: string; target: string; partition: number; entries: readonly Entry[] }];
  retried: [{ target: string; entry: Entry; attempt: number; error: string; nextAttemptAt: Date }];
  'dead-lettered': [{ target: string; entry: Entry; attempts: number; error: string; blocked: boolean }];
  'batch-failed': [{ namespace: string; target: string; partition: number; failures: number; retryAt: Date }];
  error: [Error];
  started: [];
  stopped: [];
}

/** What the dispatcher needs from Walbox: no more. */
export interface DispatcherDeps {
  pool: pg.Pool;
  db: Queryable;
  /** Unquoted and quoted schema name. */
  schema: string;
  quotedSchema: string;
  namespaces: Namespaces;
}

interface DrainJob {
  namespace: string;
  target: string;
  partition: number;
}

/**
 * The data plane. pg-boss schedules one drain job per (namespace, target, partition) (policy 'short': at
 * most one queued per partition), re-runs work after crashes and wakes delayed work; the cursor lease makes
 * sure one process at a time drains a partition, whichever process fetched the job.
 */
export class Dispatcher extends EventEmitter<DispatcherEvents> {
  readonly id = randomUUID();
  readonly config: ResolvedDispatcherConfig;
  readonly #sinks: ReadonlyMap<string, Sink>;
  readonly #active = new Map<string, { drain: PartitionDrain; done: Promise<DrainEnd> }>();
  #boss: PgBoss | undefined;
  readonly #loops = new Map<string, JobLoop<object>>();
  /** NOTIFY items ("namespace:partition" or a bare namespace) waiting to be handled, and when each ref was kicked. */
  #notified = new Set<string>();
  #flushing = false;
  readonly #kickedAt = new Map<string, number>();
  #listener: NotificationListener | undefined;
  #finder: WorkFinder;
  readonly #drainDb: Queryable;
  #supervisor: NodeJS.Timeout | undefined;
  #supervising: Promise<void> | undefined;
  #superviseAgain = false;
  #stopping = new AbortController();
  #state: 'new' | 'starting' | 'started' | 'stopping' | 'stopped' = 'new';
  #startPromise: Promise<void> | undefined;
  #stopPromise: Promise<void> | undefined;

  constructor(
    private readonly deps: DispatcherDeps,
    sinks: Record<string, Sink>,
    options: DispatcherOptions = {},
  ) {
    super();
    this.config = resolveDispatcherConfig(options);
    if (Object.keys(sinks).length === 0) throw new TypeError('walbox: a dispatcher needs at least one sink');
    this.#sinks = new Map(Object.entries(sinks));
    this.#finder = new WorkFinder(deps.db, deps.quotedSchema, [...this.#sinks.keys()], this.id);
    this.#drainDb = this.config.preparedStatements
      ? deps.db
      : { query: (text, values) => deps.db.query(text, values) }; // drops { prepare: true }
  }

  /**
   * Starts pg-boss workers, the wake-up listener and the supervisor. Idempotent. Fails with
   * SessionRequiredError when `wakeup: 'listen'` or `preparedStatements` cannot work on the pool's
   * connections (a PgBouncer in transaction pooling mode).
   */
  start(): Promise<void> {
    // A Postgres that cannot serve yet fails start() with DatabaseUnavailableError, which says why.
    this.#startPromise ??= this.#start().catch((err) => {
      throw explainError(err);
    });
    return this.#startPromise;
  }

  async #start(): Promise<void> {
    this.#state = 'starting';
    const { pool, schema } = this.deps;
    // Before anything starts: behind a transaction pooler, LISTEN would never wake this process (silently)
    // and prepared statements would fail now and then.
    await assertSessionFeatures(pool.options, this.config);
    const boss = await startBoss(() => {
      const b = new PgBoss({
        db: { executeSql: (text: string, values?: unknown[]) => pool.query(text, values as unknown[]) },
        schema: bossSchema(schema),
        // Expired jobs are harmless here (leases decide who drains) but are cleaned up promptly.
        maintenanceIntervalSeconds: 30,
        monitorStateIntervalSeconds: 60,
      });
      b.on('error', (err) => this.#error(err));
      return b;
    });
    this.#boss = boss;
    for (const target of this.#sinks.keys()) {
      const queue = queueName(target);
      await ensureQueue(boss, queue, { policy: 'short', retryLimit: 0 });
      this.#startLoop(
        new JobLoop<DrainJob>(
          boss,
          queue,
          this.config.concurrency,
          Math.max(100, this.config.pollIntervalMs),
          (job) => this.#runDrain(job.data),
          (err) => this.#error(err),
        ),
      );
    }
    await this.#scheduleMaintenance(boss);
    if (this.config.wakeup === 'listen') await this.#listen();
    this.#state = 'started';
    await this.#supervise();
    const every = this.config.wakeup === 'poll' ? this.config.pollIntervalMs : this.config.superviseMs;
    this.#supervisor = setInterval(() => void this.#supervise(), every);
    this.emit('started');
  }

  /**
   * Graceful stop: no new batches; in-flight ones finish (or are abandoned after stopTimeoutMs, to be
   * re-delivered later); leases are released and their partitions handed to other dispatchers. Idempotent.
   */
  stop(): Promise<void> {
    this.#stopPromise ??= this.#stop();
    return this.#stopPromise;
  }

  async #stop(): Promise<void> {
    await this.#startPromise?.catch(() => {});
    this.#state = 'stopping';
    clearInterval(this.#supervisor);
    // Fetch no more jobs while in-flight batches finish: this process would drop them, among them the ones its
    // drains kick below to hand their partitions over (left to another dispatcher's supervisor then).
    const loopsStopped = Promise.all([...this.#loops.values()].map((l) => l.stop()));
    this.#stopping.abort(new Error('dispatcher stopping'));
    await this.#listener?.stop();
    const drains = [...this.#active.values()].map((a) => a.done.catch(() => {}));
    await Promise.race([Promise.all([...drains, loopsStopped]), delay(this.config.stopTimeoutMs)]);
    await this.#boss?.stop({
      graceful: true,
      wait: true,
      timeout: Math.max(1000, this.config.stopTimeoutMs),
    });
    await Promise.all([...this.#sinks.values()].map((s) => s.close?.().catch((err) => this.#error(err))));
    this.#state = 'stopped';
    this.emit('stopped');
  }

  /** Partition upkeep and retention on a pg-boss cron schedule: one dispatcher runs it each time. */
  async #scheduleMaintenance(boss: PgBoss): Promise<void> {
    const queue = 'walbox_maintain';
    await ensureQueue(boss, queue, { policy: 'singleton' });
    await boss.schedule(queue, this.config.maintenanceCron);
    this.#startLoop(
      new JobLoop<object>(
        boss,
        queue,
        1,
        30_000,
        async () => {
          await maintain(this.deps.db, this.deps.quotedSchema);
        },
        (err) => this.#error(err),
      ),
    );
    // Make sure today's and the coming days' partitions exist before the first append of the day.
    maintain(this.deps.db, this.deps.quotedSchema).catch((err) => this.#error(err));
  }

  #startLoop<T extends object>(loop: JobLoop<T>): void {
    this.#loops.set(loop.queue, loop as unknown as JobLoop<object>);
    loop.start();
  }

  async #runDrain(job: DrainJob): Promise<void> {
    const sink = this.#sinks.get(job.target);
    // Fetched just as this process began to stop: pass it on rather than drop it.
    if (sink && this.#state === 'stopping') return this.#kick(job).catch((err) => this.#error(err));
    if (!sink || this.#state !== 'started') return;
    const k = refKey(job);
    if (this.#active.has(k)) return; // this process already drains it
    const drain = new PartitionDrain(
      this.#drainDb,
      this.deps.quotedSchema,
      job,
      this.id,
      sink,
      this.deps.namespaces,
      this.config,
      { onStep: (ref, outcome) => this.#report(ref, outcome), onError: (err) => this.#error(err) },
    );
    const done = drain.run(this.#stopping.signal);
    this.#active.set(k, { drain, done });
    try {
      const end = await done;
      if (end.reason === 'yield' || end.reason === 'stopped') {
        await this.#kick(job); // hand the partition on: any dispatcher may pick it up
      } else if (end.reason === 'idle' && end.nextDue) {
        await this.#kick(job, end.nextDue); // pg-boss wakes delayed and backed-off entries
      }
    } catch (err) {
      this.#error(err);
    } finally {
      this.#active.delete(k);
    }
  }

  async #kick(job: DrainJob, startAfter?: Date): Promise<void> {
    const boss = this.#boss;
    if (!boss) return;
    const queue = queueName(job.target);
    const at = startAfter && startAfter.getTime() > Date.now() ? startAfter : undefined;
    await boss.send(queue, job, {
      // One queued job per partition; a deferred one gets its own key so it never hides an immediate one.
      singletonKey: at ? `${refKey(job)}@${Math.ceil(at.getTime() / 1000)}` : refKey(job),
      ...(at ? { startAfter: at } : {}),
      expireInSeconds: Math.ceil((this.config.maxDrainMs + this.config.applyTimeoutMs) / 1000) + 30,
      retryLimit: 0,
    });
    if (!at && this.#state === 'started') this.#loops.get(queue)?.notify();
  }

  /**
   * Finds partitions with work and no live lease, and kicks them: the safety net under NOTIFY, and the
   * whole mechanism in poll mode. Calls that arrive while one runs coalesce into one more run.
   */
  async #supervise(): Promise<void> {
    if (this.#supervising) {
      this.#superviseAgain = true;
      return this.#supervising;
    }
    this.#supervising = (async () => {
      do {
        this.#superviseAgain = false;
        if (this.#state !== 'started') return;
        try {
          for (const ref of await this.#finder.pending()) {
            const running = this.#active.get(refKey(ref));
            if (running) running.drain.wakeup.wake();
            else await this.#kick(ref);
          }
        } catch (err) {
          this.#error(err);
        }
      } while (this.#superviseAgain);
    })().finally(() => {
      this.#supervising = undefined;
    });
    return this.#supervising;
  }

  async #listen(): Promise<void> {
    const listener = new NotificationListener({
      connection: this.deps.pool.options,
      channel: `walbox_${this.deps.schema}`,
      onItems: (items) => {
        for (const item of items) this.#notified.add(item);
        if (!this.#flushing) void this.#flushNotified();
      },
      // Notifications sent while the connection was down are lost: look for work now, not at the next tick.
      onReconnected: () => void this.#supervise(),
      onError: (err) => this.#error(err),
    });
    await listener.start();
    this.#listener = listener;
  }

  /**
   * Handles NOTIFY items: wakes this process's drains of the named partitions and kicks the others (a cold
   * partition, or one drained elsewhere: pg-boss keeps one queued job per partition, and a kick is sent at
   * most every 100 ms per partition). Items arriving meanwhile are handled in the next round.
   */
  async #flushNotified(): Promise<void> {
    this.#flushing = true;
    try {
      while (this.#notified.size > 0 && this.#state === 'started') {
        const items = [...this.#notified];
        this.#notified.clear();
        for (const item of items) {
          const [namespace = '', partition] = item.split(':');
          const ns = await this.deps.namespaces.require(namespace, this.deps.db).catch(() => undefined);
          if (!ns) continue;
          const partitions = partition === undefined ? range(ns.partitions) : [Number(partition)];
          for (const target of ns.targets) {
            if (!this.#sinks.has(target)) continue;
            for (const p of partitions) await this.#wakeOrKick({ namespace, target, partition: p });
          }
        }
      }
    } catch (err) {
      this.#error(err);
    } finally {
      this.#flushing = false;
    }
  }

  async #wakeOrKick(ref: PartitionRef): Promise<void> {
    const k = refKey(ref);
    const running = this.#active.get(k);
    if (running) return running.drain.wakeup.wake();
    const now = Date.now();
    if (now - (this.#kickedAt.get(k) ?? 0) < 100) return;
    this.#kickedAt.set(k, now);
    await this.#kick(ref);
  }

  #report(ref: PartitionRef, o: StepOutcome): void {
    if (o.delivered.length > 0) this.emit('delivered', { ...ref, entries: o.delivered });
    for (const r of o.retried) this.emit('retried', { target: ref.target, ...r });
    for (const d of o.deadLettered) this.emit('dead-lettered', { target: ref.target, ...d });
    if (o.batchFailed && o.cursor.retryAt) {
      this.emit('batch-failed', { ...ref, failures: o.cursor.failures, retryAt: o.cursor.retryAt });
    }
  }

  /** Reports an error that belongs to no call: the 'error' event, or console.error without a listener. */
  reportError(err: unknown): void {
    this.#error(err);
  }

  #error(err: unknown): void {
    const explained = explainError(err);
    const error = explained instanceof Error ? explained : new Error(String(explained));
    if (this.listenerCount('error') > 0) this.emit('error', error);
    else console.error('walbox dispatcher:', error);
  }
}

export function bossSchema(schema: string): string {
  return `${schema.slice(0, 44)}_boss`;
}

/**
 * Starts pg-boss, which installs its schema on first use. Dispatchers starting at once on a fresh database
 * race to install it: the advisory lock serializes them, but the loser's CREATE SCHEMA IF NOT EXISTS can still
 * miss the winner's schema (waiting for an advisory lock does not refresh the catalog cache) and fail on the
 * catalog's unique index, which pg-boss does not recognize as a lost race. A new instance finds it installed.
 */
async function startBoss(create: () => PgBoss): Promise<PgBoss> {
  for (let attempt = 1; ; attempt++) {
    const boss = create(); // a PgBoss whose start() failed cannot be started again
    try {
      return await boss.start();
    } catch (err) {
      if (attempt >= 3) throw err;
      await delay(100 * attempt);
    }
  }
}

/**
 * Creates a pg-boss queue unless it exists. Dispatchers starting at once on a fresh schema race to create it,
 * and pg-boss's create_queue can deadlock with itself (one inserts the queue row, then adds foreign keys that
 * lock the queue table the other is inserting into); Postgres aborts one, which tries again: its insert then
 * waits for the winner to commit and does nothing.
 */
async function ensureQueue(boss: PgBoss, name: string, options: Omit<PgBoss.Queue, 'name'>): Promise<void> {
  for (let attempt = 1; !(await boss.getQueue(name)); attempt++) {
    try {
      await boss.createQueue(name, { ...options, name });
    } catch (err) {
      if (attempt >= 5) throw err;
      await delay(100 * attempt);
    }
  }
}

function queueName(target: string): string {
  return `walbox_drain_${target}`;
}

function refKey(ref: PartitionRef): string {
  return `${ref.namespace}/${ref.target}/${ref.partition}`;
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
