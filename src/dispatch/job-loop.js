import { Wakeup } from './wakeup.js';
/**
 * Fetches and runs pg-boss jobs of one queue in `slots` parallel loops. Used instead of boss.work() because
 * pg-boss 10 completes a worker's job without awaiting or catching the call: if Postgres goes away at that
 * moment the rejection is unhandled and Node ends the process. Here every call is awaited and reported,
 * and `notify()` wakes idle slots at once instead of at pg-boss's 0.5 s minimum polling interval.
 */
export class JobLoop {
    source;
    queue;
    slots;
    pollMs;
    handler;
    onError;
    #wakeups = [];
    #stop = new AbortController();
    #loops = [];
    constructor(source, queue, slots, pollMs, handler, onError) {
        this.source = source;
        this.queue = queue;
        this.slots = slots;
        this.pollMs = pollMs;
        this.handler = handler;
        this.onError = onError;
    }
    start() {
        for (let i = 0; i < this.slots; i++) {
            const wakeup = new Wakeup();
            this.#wakeups.push(wakeup);
            this.#loops.push(this.#run(wakeup));
        }
    }
    notify() {
        for (const w of this.#wakeups)
            w.wake();
    }
    /** Lets running jobs finish, fetches no more. */
    async stop() {
        this.#stop.abort();
        await Promise.all(this.#loops);
        this.#loops = [];
    }
    async #run(wakeup) {
        const signal = this.#stop.signal;
        while (!signal.aborted) {
            wakeup.clear();
            let job;
            try {
                job = await this.source.fetch(this.queue);
            }
            catch (err) {
                this.onError(err);
            }
            if (!job) {
                await wakeup.sleep(this.pollMs, signal);
                continue;
            }
            try {
                await this.handler(job.data);
            }
            catch (err) {
                this.onError(err);
            }
            await this.source.complete(this.queue, job.id).catch((err) => this.onError(err));
        }
    }
}
//# sourceMappingURL=job-loop.js.map