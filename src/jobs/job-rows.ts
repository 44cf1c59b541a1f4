import type { Queryable } from '../executor.js';

export type JobState = 'scheduled' | 'running' | 'failed' | 'succeeded' | 'cancelled';
export const JOB_STATES: readonly JobState[] = ['scheduled', 'running', 'failed', 'succeeded', 'cancelled'];

/** A job as stored. Ids are bigints, returned as strings. */
export interface Job<P = unknown> {
  id: string;
  queue: string;
  /** The caller's shared ordering key, or null when the job is its own key. */
  key: string | null;
  state: JobState;
  runAt: Date;
  /** 1, plus one per reschedule. */
  generation: number;
  payload: P;
  idempotencyKey: string | null;
  /** Claims so far: 1 on the first run, more after failures, redeliveries or a redrive. */
  attempts: number;
  lastError: string | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

export interface JobRow {
  id: string;
  queue: string;
  key: string | null;
  state: JobState;
  run_at: Date;
  generation: number;
  payload: unknown;
  idempotency_key: string | null;
  attempts: number;
  last_error: string | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

export const JOB_COLUMNS =
  'j.id, j.queue, j.key, j.state, j.run_at, j.generation, j.payload, j.idempotency_key, j.attempts, ' +
  'j.last_error, j.created_at, j.started_at, j.finished_at';

export function jobFromRow<P>(r: JobRow): Job<P> {
  return {
    id: r.id,
    queue: r.queue,
    key: r.key,
    state: r.state,
    runAt: r.run_at,
    generation: r.generation,
    payload: r.payload as P,
    idempotencyKey: r.idempotency_key,
    attempts: r.attempts,
    lastError: r.last_error,
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
  };
}

export interface JobListFilter {
  /** Only jobs in these states (default: all). */
  states?: readonly JobState[];
  /** Only jobs due before this instant. */
  dueBefore?: Date;
  /** At most this many, earliest run_at first (default 100, at most 10,000). */
  limit?: number;
}

/** Jobs of `queue` in run_at order. */
export async function listJobs(
  db: Queryable,
  schema: string,
  queue: string,
  filter: JobListFilter = {},
): Promise<Job[]> {
  const limit = Math.min(Math.max(1, Math.trunc(filter.limit ?? 100)), 10_000);
  const { rows } = await db.query<JobRow>(
    `select ${JOB_COLUMNS} from ${schema}.jobs j
      where j.queue = $1
        and ($2::text[] is null or j.state = any($2::text[]))
        and ($3::timestamptz is null or j.run_at < $3)
      order by j.run_at, j.id
      limit $4`,
    [queue, filter.states ? [...filter.states] : null, filter.dueBefore ?? null, limit],
  );
  return rows.map((r) => jobFromRow(r));
}

/** How many jobs of a queue are in each state. */
export interface JobCounts {
  queue: string;
  scheduled: number;
  /** Scheduled and due already: waiting for the dispatcher. */
  overdue: number;
  running: number;
  failed: number;
  succeeded: number;
  cancelled: number;
}

/** Counts per state of every queue (or of `queue`), by queue name. */
export async function countJobs(db: Queryable, schema: string, queue?: string): Promise<JobCounts[]> {
  const { rows } = await db.query<JobCounts>(
    `select j.queue,
            count(*) filter (where j.state = 'scheduled')::int as scheduled,
            count(*) filter (where j.state = 'scheduled' and j.run_at <= now())::int as overdue,
            count(*) filter (where j.state = 'running')::int as running,
            count(*) filter (where j.state = 'failed')::int as failed,
            count(*) filter (where j.state = 'succeeded')::int as succeeded,
            count(*) filter (where j.state = 'cancelled')::int as cancelled
       from ${schema}.jobs j
      where $1::text is null or j.queue = $1
      group by j.queue
      order by j.queue`,
    [queue ?? null],
  );
  return rows;
}
