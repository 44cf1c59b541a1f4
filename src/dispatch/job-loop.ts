import { Wakeup } from './wakeup.js';

/** Where a loop gets its jobs: a queue that hands out one job at a time and is told when it is done. */
export interface JobSource {
  fetch<T extends object>(queue: string): Promise<{ id: string; data: T } | undefined>;
  complete(queue: string, id: string): Promise<void>;
}

/**
 * Fetches and runs pg-boss jobs of one queue in `slots` parallel loops. Used instead of boss.work() because
 * pg-boss 10 completes a worker's job without awaiting or catching the call: if Postgres goes away at that
 * moment the rejection is unhandled and Node ends the process. Here every call is awaited and reported,
 * and `notify()` wakes idle slots at once instead of at pg-boss's 0.5 s minimum polling interval.
 */
export class JobLoop<T extends object> {
  readonly #wakeups: Wakeup[] = [];
  readonly #stop = new AbortController();
  #loops: Promise<void>[] = [];
  /** Slots running a job's handler now. */
  #running = 0;

  constructor(
    private readonly source: JobSource,
    readonly queue: string,
    private readonly slots: number,
    private readonly pollMs: number,
    private readonly handler: (data: T) => Promise<void>,
    private readonly onError: (err: unknown) => void,
  ) {}

  start(): void {
    for (let i = 0; i < this.slots; i++) {
      const wakeup = new Wakeup();
      this.#wakeups.push(wakeup);
      this.#loops.push(this.#run(wakeup));
    }
  }

  notify(): void {
    for (const w of this.#wakeups) w.wake();
  }

  /** Every slot runs a job: a job queued now waits for one of them to finish. */
  get saturated(): boolean {
    return this.#running >= this.slots;
  }

  /** Lets running jobs finish, fetches no more. */
  async stop(): Promise<void> {
    this.#stop.abort();
    await Promise.all(this.#loops);
    this.#loops = [];
  }

  async #run(wakeup: Wakeup): Promise<void> {
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      wakeup.clear();
      let job: { id: string; data: T } | undefined;
      try {
        job = await this.source.fetch<T>(this.queue);
      } catch (err) {
        this.onError(err);
      }
      if (!job) {
        await wakeup.sleep(this.pollMs, signal);
        continue;
      }
      this.#running++;
      try {
        await this.handler(job.data);
      } catch (err) {
        this.onError(err);
      } finally {
        this.#running--;
      }
      await this.source.complete(this.queue, job.id).catch((err) => this.onError(err));
    }
  }
}
