import type pg from 'pg';
import PgBoss from 'pg-boss';
import { JobLoop } from './job-loop.js';
import type { PartitionRef } from './step-types.js';

/** pg-boss's schema beside walbox's (pg-boss caps schema names at 50 characters). */
export function bossSchema(schema: string): string {
  return `${schema.slice(0, 44)}_boss`;
}

/** The SQL that installs pg-boss in `bossSchema(schema)`: run by the schema owner (`walbox roles --apply`). */
export function bossInstallSql(schema: string): string {
  return PgBoss.getConstructionPlans(bossSchema(schema));
}

/**
 * walbox's only door to pg-boss: one queue of drain jobs per target (policy 'short': at most one queued job
 * per partition), the job loops that run them, and the maintenance schedule. pg-boss re-runs work after
 * crashes and wakes delayed work; the cursor lease decides who drains, whichever process fetched the job.
 */
export class DrainQueue {
  readonly #loops = new Map<string, JobLoop<object>>();
  readonly #fetches = new CoalescedFetches();

  private constructor(
    private readonly boss: PgBoss,
    private readonly pool: pg.Pool,
    private readonly schema: string,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Starts pg-boss in `bossSchema(schema)`, installing it on first use. */
  static async start(pool: pg.Pool, schema: string, onError: (err: unknown) => void): Promise<DrainQueue> {
    const boss = await startBoss(() => {
      const b = new PgBoss({
        db: { executeSql: (text: string, values?: unknown[]) => pool.query(text, values as unknown[]) },
        schema: bossSchema(schema),
        // Expired jobs are harmless here (leases decide who drains) but are cleaned up promptly.
        maintenanceIntervalSeconds: 30,
        monitorStateIntervalSeconds: 60,
      });
      b.on('error', onError);
      return b;
    });
    return new DrainQueue(boss, pool, bossSchema(schema), onError);
  }

  /** Runs `handler` for the drain jobs of `target` in `slots` parallel loops. */
  async work(
    target: string,
    slots: number,
    pollMs: number,
    handler: (ref: PartitionRef) => Promise<void>,
  ): Promise<void> {
    const queue = queueName(target);
    await ensureQueue(this.boss, queue, { policy: 'short', retryLimit: 0 });
    this.#start(new JobLoop<PartitionRef>(this.#source(), queue, slots, pollMs, handler, this.onError));
  }

  /**
   * Asks for a drain of `ref` now, or at `at` (delayed and backed-off entries). One queued job per partition;
   * a deferred one gets its own key so that it never hides an immediate one. `expireSeconds` bounds a
   * job's run (a crashed process's job is re-run after it).
   */
  async request(ref: PartitionRef, expireSeconds: number, at?: Date): Promise<void> {
    const queue = queueName(ref.target);
    const later = at && at.getTime() > Date.now() ? at : undefined;
    const key = `${ref.namespace}/${ref.target}/${ref.partition}`;
    await this.boss.send(queue, ref, {
      singletonKey: later ? `${key}@${Math.ceil(later.getTime() / 1000)}` : key,
      ...(later ? { startAfter: later } : {}),
      expireInSeconds: expireSeconds,
      retryLimit: 0,
    });
    if (!later) this.#loops.get(queue)?.notify();
  }

  /**
   * Whether a drain job of `target` that could run now waits for a slot of this process: every slot runs a
   * drain, and the queue holds a job that is due. Asked by an idle drain, which then lets its partition go at
   * once instead of after idleReleaseMs (with more partitions than slots, idle drains held every slot while
   * the other partitions' jobs waited: a backlog over 8 partitions drained by 1 slot at 15,000 entries/s).
   */
  async waiting(target: string): Promise<boolean> {
    const queue = queueName(target);
    if (!this.#loops.get(queue)?.saturated) return false;
    const { rows } = await this.pool.query<{ waiting: boolean }>(
      `select exists (select 1 from "${this.schema}".job
                       where name = $1 and state < 'active' and start_after < now()) as waiting`,
      [queue],
    );
    return rows[0]?.waiting === true;
  }

  /** Runs `task` on a cron schedule, in one process at a time. */
  async schedule(name: string, cron: string, task: () => Promise<void>): Promise<void> {
    await ensureQueue(this.boss, name, { policy: 'singleton' });
    await this.boss.schedule(name, cron);
    this.#start(new JobLoop<object>(this.#source(), name, 1, 30_000, task, this.onError));
  }

  /** Fetches no more jobs; running ones finish. */
  async stopWorking(): Promise<void> {
    await Promise.all([...this.#loops.values()].map((l) => l.stop()));
  }

  async stop(timeoutMs: number): Promise<void> {
    await this.stopWorking();
    await this.boss.stop({ graceful: true, wait: true, timeout: Math.max(1000, timeoutMs) });
  }

  #start<T extends object>(loop: JobLoop<T>): void {
    this.#loops.set(loop.queue, loop as unknown as JobLoop<object>);
    loop.start();
  }

  #source() {
    const boss = this.boss;
    const fetches = this.#fetches;
    return {
      fetch: <T extends object>(queue: string) =>
        fetches.fetch(queue, async () => {
          const [job] = await boss.fetch<T>(queue, { batchSize: 1 });
          return job ? { id: job.id, data: job.data } : undefined;
        }),
      complete: async (queue: string, id: string) => {
        await boss.complete(queue, id);
      },
    };
  }
}

/**
 * The fetches of each queue, coalesced: a fetch asked for while another of its queue runs waits for that one
 * and, if it found nothing, finds nothing either, without a statement of its own; after one that found a job
 * it runs its own (there may be more). request() wakes every idle slot of a queue, and each ran pg-boss's
 * fetch: up to `slots` statements for one job. Each fetch reads every job row its queue had since the xmin
 * horizon was last free (their dead versions stay in pg-boss's partial index job_i5, and the sort reads all of
 * them): with the horizon pinned for a minute (chaos 5), 150-190 buffers per fetch, 129-166 fetches a second;
 * coalesced, 66-67 a second. No job is missed: a job sent after the running fetch began comes with a wake of every slot
 * (JobLoop keeps a wake that arrives during a fetch), so the slot that ran it fetches again at once; one sent
 * by another process is found by the next poll, as before.
 */
class CoalescedFetches {
  /** Per queue, the fetch running now: resolves to whether it found a job. */
  readonly #running = new Map<string, Promise<boolean>>();

  async fetch<J>(queue: string, run: () => Promise<J | undefined>): Promise<J | undefined> {
    for (let running = this.#running.get(queue); running; running = this.#running.get(queue)) {
      if (!(await running)) return undefined;
    }
    const job = run();
    const found = job.then(
      (j) => j !== undefined,
      () => false,
    );
    this.#running.set(queue, found);
    try {
      return await job;
    } finally {
      if (this.#running.get(queue) === found) this.#running.delete(queue);
    }
  }
}

function queueName(target: string): string {
  return `walbox_drain_${target}`;
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

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
