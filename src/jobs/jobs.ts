import type pg from 'pg';
import { raisedError } from '../database-errors.js';
import type { Sink } from '../dispatch/sink.js';
import { type Executor, toQueryable } from '../executor.js';
import type { Namespaces } from '../namespaces.js';
import type { Sql } from '../sql/context.js';
import { checkRunAt, encodeJob, parseId, type ScheduleInput } from './job-input.js';
import {
  countJobs,
  JOB_COLUMNS,
  type Job,
  type JobCounts,
  type JobListFilter,
  type JobRow,
  jobFromRow,
  listJobs,
} from './job-rows.js';
import { type JobHandler, jobSink } from './job-sink.js';
import {
  assertQueueName,
  type JobQueueOptions,
  type JobSinkConfig,
  queueNamespace,
  type ResolvedJobQueueOptions,
  resolveJobQueueOptions,
} from './jobs-config.js';

export interface Scheduled {
  id: string;
  runAt: Date;
  /** The queue already held a job with this idempotency key: that job's id, nothing new was scheduled. */
  duplicate: boolean;
}

/**
 * A delayed-job queue on walbox's log: schedule, cancel and reschedule in the caller's transaction; a job
 * sink (`sink(handler)`, or `jobSink`) runs due jobs through a dispatcher. See docs/jobs.md.
 */
export class JobQueue {
  /** The queue's log namespace and its target, "jobs.<queue>": the name of the sink in `dispatcher({ sinks })`. */
  readonly namespace: string;
  readonly #options: ResolvedJobQueueOptions;
  #ready: Promise<void> | undefined;

  constructor(
    private readonly sql: Sql,
    private readonly namespaces: Namespaces,
    private readonly pool: pg.Pool,
    readonly queue: string,
    options?: JobQueueOptions,
  ) {
    assertQueueName(queue);
    this.namespace = queueNamespace(queue);
    this.#options = resolveJobQueueOptions(options);
  }

  /**
   * Creates the queue's namespace ("jobs.<queue>", target "jobs.<queue>") if it does not exist; scheduling
   * calls it once. Runs on walbox's pool, outside the caller's transaction: creating a namespace twice is
   * harmless, and an existing one (configured by an operator) is left untouched.
   */
  ensure(): Promise<void> {
    this.#ready ??= this.#ensure().catch((err: unknown) => {
      this.#ready = undefined;
      throw err;
    });
    return this.#ready;
  }

  async #ensure(): Promise<void> {
    if (await this.namespaces.get(this.namespace)) return;
    const o = this.#options;
    await this.namespaces.upsert({
      name: this.namespace,
      targets: [this.namespace],
      partitions: o.partitions,
      ...(o.retry ? { retry: o.retry } : {}),
      onExhausted: o.onExhausted,
    });
  }

  /** Schedules one job in the caller's transaction: it exists if, and when, that transaction commits. */
  async schedule<P>(executor: Executor, input: ScheduleInput<P>): Promise<string> {
    const [scheduled] = await this.scheduleMany(executor, [input]);
    return scheduled!.id;
  }

  /** Schedules many jobs with one statement, all or nothing; results in input order. */
  async scheduleMany(executor: Executor, inputs: readonly ScheduleInput[]): Promise<Scheduled[]> {
    if (!Array.isArray(inputs)) throw new TypeError('walbox: scheduleMany expects an array');
    if (inputs.length === 0) return [];
    await this.ensure();
    const ns = await this.namespaces.require(this.namespace, this.sql.db);
    const wire = inputs.map((input, i) => encodeJob(input, inputs.length === 1 ? undefined : i, ns));
    try {
      const { rows } = await toQueryable(executor).query<{
        ord: number;
        id: string;
        run_at: Date;
        duplicate: boolean;
      }>(`select * from ${this.sql.schema}.jobs_schedule($1, $2::json)`, [this.queue, `[${wire.join(',')}]`]);
      return rows.map((r) => ({ id: r.id, runAt: r.run_at, duplicate: r.duplicate }));
    } catch (err) {
      throw raisedError(err);
    }
  }

  /**
   * Cancels a job in the caller's transaction: true if it was scheduled (or failed, awaiting a retry) and is
   * now cancelled, false if it is unknown or already claimed by the job sink (running or done) or cancelled.
   * Claim and cancel are conditional updates of the same row, so a race ends with exactly one winner; a claim
   * that meets this transaction's row lock skips the job and retries it after, when it sees the outcome.
   */
  async cancel(executor: Executor, id: string): Promise<boolean> {
    const jobId = parseId(id);
    try {
      const { rows } = await toQueryable(executor).query<{ cancelled: boolean }>(
        `select ${this.sql.schema}.jobs_cancel($1, $2) as cancelled`,
        [this.queue, jobId],
      );
      return rows[0]!.cancelled;
    } catch (err) {
      throw raisedError(err);
    }
  }

  /**
   * Moves a scheduled job to `runAt` (earlier or later) in the caller's transaction; false if it is not
   * scheduled any more. The job's earlier entry is skipped when it falls due.
   */
  async reschedule(executor: Executor, id: string, runAt: Date): Promise<boolean> {
    const jobId = parseId(id);
    checkRunAt(runAt, undefined);
    try {
      const { rows } = await toQueryable(executor).query<{ moved: boolean }>(
        `select ${this.sql.schema}.jobs_reschedule($1, $2, $3) as moved`,
        [this.queue, jobId, runAt],
      );
      return rows[0]!.moved;
    } catch (err) {
      throw raisedError(err);
    }
  }

  /** One job, or undefined. */
  async get<P = unknown>(id: string, executor?: Executor): Promise<Job<P> | undefined> {
    const db = executor ? toQueryable(executor) : this.sql.db;
    const { rows } = await db.query<JobRow>(
      `select ${JOB_COLUMNS} from ${this.sql.schema}.jobs j where j.queue = $1 and j.id = $2`,
      [this.queue, parseId(id)],
    );
    return rows[0] ? jobFromRow<P>(rows[0]) : undefined;
  }

  /** Jobs of this queue, earliest run_at first. */
  list(filter?: JobListFilter): Promise<Job[]> {
    return listJobs(this.sql.db, this.sql.schema, this.queue, filter);
  }

  /** How many jobs of this queue are in each state. */
  async counts(): Promise<JobCounts> {
    const [row] = await countJobs(this.sql.db, this.sql.schema, this.queue);
    return (
      row ?? {
        queue: this.queue,
        scheduled: 0,
        overdue: 0,
        running: 0,
        failed: 0,
        succeeded: 0,
        cancelled: 0,
      }
    );
  }

  /**
   * Deletes finished jobs (succeeded or cancelled) that finished before `before`; returns how many. The log
   * keeps their entries for its own retention.
   */
  async prune(before: Date): Promise<number> {
    const { rows } = await this.sql.db.query<{ n: number }>(
      `with d as (delete from ${this.sql.schema}.jobs j
                   where j.queue = $1 and j.state in ('succeeded', 'cancelled') and j.finished_at < $2
                   returning 1)
       select count(*)::int as n from d`,
      [this.queue, before],
    );
    return rows[0]!.n;
  }

  /** The sink that runs this queue's jobs, on walbox's pool: `dispatcher({ sinks: { [q.namespace]: q.sink(fn) } })`. */
  sink<P = unknown>(
    handler: JobHandler<P>,
    options?: Omit<JobSinkConfig, 'pool' | 'connectionString' | 'schema'>,
  ): Sink {
    return jobSink(this.queue, handler, { ...options, pool: this.pool, schema: this.sql.schemaName });
  }
}
