import pg from 'pg';
import { explainError } from '../database-errors.js';
import type { BatchResult, Sink, SinkContext } from '../dispatch/sink.js';
import type { Entry } from '../entry.js';
import { quoteIdent } from '../names.js';
import { JOB_COLUMNS, type Job, type JobRow, jobFromRow } from './job-rows.js';
import { assertQueueName, type JobSinkConfig, queueNamespace, resolveJobSinkConfig } from './jobs-config.js';

/** A job row of the generation its entry announces ($3, parallel to the ids in $2), not cancelled or done. */
const CLAIMABLE = (j: string) =>
  `${j}.generation = ($3::int[])[array_position($2::bigint[], ${j}.id)] and ${j}.state in ('scheduled', 'running', 'failed')`;

/** The error recorded for job j.id ($3, parallel to the ids in $2): null when it succeeded. */
const ERROR = '($3::text[])[array_position($2::bigint[], j.id)]';

/** What a handler gets besides the job. */
export interface JobContext {
  /** Aborted when the dispatcher stops or the batch times out: stop early, the job runs again later. */
  signal: AbortSignal;
  /** The log entry that brought the job (its current generation). */
  entry: Entry;
}

/** Runs one job. Throwing fails this attempt: the dispatcher retries it with backoff, then dead-letters it. */
export type JobHandler<P = unknown> = (job: Job<P>, ctx: JobContext) => Promise<void> | void;

/** An entry of the queue's namespace, read as the job generation it announces. */
interface Announced {
  entry: Entry;
  job: string;
  generation: number;
}

/**
 * The sink that runs the jobs of `queue`: register it as target "jobs.<queue>" (its `name`) of a dispatcher.
 * For each entry it claims the job (a conditional update: the job's current generation, not cancelled or
 * done), runs the handler, and records the outcome. A stale generation, a cancelled or a finished job is
 * skipped; a job whose row another transaction holds (a cancel or reschedule in flight) fails this attempt
 * and is retried after the dispatcher's backoff, when that transaction has ended. Jobs of one key run one
 * after the other, in log order; jobs of different keys run at once, up to `concurrency`.
 */
export function jobSink<P = unknown>(queue: string, handler: JobHandler<P>, config: JobSinkConfig): Sink {
  assertQueueName(queue);
  const c = resolveJobSinkConfig(config);
  const schema = quoteIdent('schema', c.schema);
  const ownsPool = c.pool === undefined;
  let pool = c.pool;
  const db = (): pg.Pool => {
    if (!pool) {
      pool = new pg.Pool({
        connectionString: c.connectionString,
        connectionTimeoutMillis: 10_000,
        keepAlive: true,
      });
      pool.on('error', (err) =>
        (c.onError ?? ((e: Error) => console.error('walbox job sink:', e)))(explainError(err) as Error),
      );
    }
    return pool;
  };

  /** Claims the jobs `round` announces; returns those claimed and those another transaction holds. */
  async function claim(round: Announced[]): Promise<{ claimed: Map<string, Job<P>>; locked: Set<string> }> {
    const ids = round.map((a) => a.job);
    const generations = round.map((a) => a.generation);
    // SKIP LOCKED: a row locked by a cancel or reschedule still open is left alone, not waited for. Rows are
    // found by `id = any(array)`, a primary-key lookup whatever the table's statistics say (a join with
    // unnest was planned as a scan of the whole table while the statistics were those of an empty one).
    const { rows } = await db().query<JobRow>(
      `update ${schema}.jobs j set state = 'running', attempts = j.attempts + 1, started_at = now()
        where j.id = any(array(
                select k.id from ${schema}.jobs k
                 where k.id = any($2::bigint[]) and k.queue = $1 and ${CLAIMABLE('k')}
                 order by k.id
                   for update skip locked))
       returning ${JOB_COLUMNS}`,
      [queue, ids, generations],
    );
    const claimed = new Map(rows.map((r) => [r.id, jobFromRow<P>(r)]));
    const locked = new Set<string>();
    const missing = round.filter((a) => !claimed.has(a.job));
    if (missing.length > 0) {
      // Not claimed: stale, cancelled, done, or locked. The committed row tells which; a job still claimable
      // there was locked: wait for its holder a while (its outcome then decides), else retry it later.
      const { rows: still } = await db().query<{ id: string }>(
        `select j.id from ${schema}.jobs j where j.id = any($2::bigint[]) and j.queue = $1 and ${CLAIMABLE('j')}`,
        [queue, missing.map((a) => a.job), missing.map((a) => a.generation)],
      );
      const held = new Set(still.map((r) => r.id));
      await runAll(
        missing.filter((a) => held.has(a.job)),
        c.concurrency,
        async (a) => {
          const job = await claimWaiting(a);
          if (job === 'locked') locked.add(a.job);
          else if (job) claimed.set(a.job, job);
        },
      );
    }
    return { claimed, locked };
  }

  /** Claims one job, waiting up to claimWaitMs for the transaction that holds its row. */
  async function claimWaiting(a: Announced): Promise<Job<P> | undefined | 'locked'> {
    const client = await db().connect();
    const onLost = () => {}; // a lost connection fails the query below instead of the process
    client.on('error', onLost);
    let broken = false;
    try {
      await client.query('begin');
      // lock_timeout bounds the wait on the row lock (SQLSTATE 55P03 when it elapses).
      await client.query(`select set_config('lock_timeout', $1, true)`, [`${c.claimWaitMs}ms`]);
      const { rows } = await client.query<JobRow>(
        `update ${schema}.jobs j set state = 'running', attempts = j.attempts + 1, started_at = now()
          where j.queue = $1 and j.id = $2 and j.generation = $3 and j.state in ('scheduled', 'running', 'failed')
         returning ${JOB_COLUMNS}`,
        [queue, a.job, a.generation],
      );
      await client.query('commit');
      return rows[0] ? jobFromRow<P>(rows[0]) : undefined;
    } catch (err) {
      await client.query('rollback').catch(() => {
        broken = true;
      });
      if ((err as { code?: string }).code === '55P03') return 'locked';
      throw err;
    } finally {
      client.off('error', onLost);
      client.release(broken);
    }
  }

  async function finish(outcomes: Array<{ id: string; error: string | null }>): Promise<void> {
    if (outcomes.length === 0) return;
    await db().query(
      `update ${schema}.jobs j
          set state = case when ${ERROR} is null then 'succeeded' else 'failed' end,
              finished_at = case when ${ERROR} is null then now() end,
              last_error = ${ERROR}
        where j.id = any($2::bigint[]) and j.queue = $1 and j.state = 'running'`,
      [queue, outcomes.map((o) => o.id), outcomes.map((o) => o.error)],
    );
  }

  async function apply(batch: readonly Entry[], ctx: SinkContext): Promise<BatchResult> {
    // Per key, its entries in log order; a round takes the next entry of every key still going.
    const perKey = new Map<string, Announced[]>();
    for (const entry of batch) {
      const a = announced(entry);
      if (!a) continue; // not a job entry: nothing to run
      const line = perKey.get(entry.key);
      if (line) line.push(a);
      else perKey.set(entry.key, [a]);
    }
    const failed: Array<{ id: string; error: unknown }> = [];
    const lines = [...perKey.values()];
    while (lines.length > 0) {
      const round = lines.map((line) => line[0]!);
      ctx.signal.throwIfAborted();
      const { claimed, locked } = await claim(round);
      const outcomes: Array<{ id: string; error: string | null }> = [];
      const stopped = new Set<Announced>();
      await runAll(round, c.concurrency, async (a) => {
        if (locked.has(a.job)) {
          failed.push({ id: a.entry.id, error: new Error(`job ${a.job} is locked by another transaction`) });
          stopped.add(a);
          return;
        }
        const job = claimed.get(a.job);
        if (!job) return; // stale generation, cancelled or done: skipped
        try {
          await handler(job, { signal: ctx.signal, entry: a.entry });
          outcomes.push({ id: job.id, error: null });
        } catch (error) {
          outcomes.push({ id: job.id, error: describe(error) });
          failed.push({ id: a.entry.id, error });
          stopped.add(a);
        }
      });
      await finish(outcomes);
      // A key whose entry failed goes no further in this batch: the dispatcher offers the rest after it.
      for (let i = lines.length - 1; i >= 0; i--) {
        const line = lines[i]!;
        if (stopped.has(line.shift()!) || line.length === 0) lines.splice(i, 1);
      }
    }
    return { failed };
  }

  return {
    name: queueNamespace(queue),
    apply,
    async close() {
      if (ownsPool && pool) await pool.end();
    },
  };
}

function announced(entry: Entry): Announced | undefined {
  const p = entry.payload as { job?: unknown; generation?: unknown } | null;
  if (entry.op !== 'job' || typeof p !== 'object' || p === null) return undefined;
  if (typeof p.job !== 'string' || !/^\d{1,19}$/.test(p.job) || !Number.isInteger(p.generation))
    return undefined;
  return { entry, job: p.job, generation: p.generation as number };
}

/** Runs `fn` over `items`, at most `limit` at a time. */
async function runAll<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`.slice(0, 4000);
  return String(error).slice(0, 4000);
}
