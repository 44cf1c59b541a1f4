/**
 * Looks for partitions with work on an interval: the safety net under NOTIFY (a lost notification, a lease
 * that lapsed, a parked entry that fell due), and the whole mechanism in poll mode. Calls of `run()` that
 * arrive while one runs coalesce into one more run.
 */
export class Supervisor {
    options;
    #timer;
    #running;
    #again = false;
    #stopped = true;
    constructor(options) {
        this.options = options;
    }
    /** Runs once now, then every `everyMs`. */
    async start() {
        this.#stopped = false;
        await this.run();
        this.#timer = setInterval(() => void this.run(), this.options.everyMs);
    }
    stop() {
        this.#stopped = true;
        clearInterval(this.#timer);
    }
    run() {
        if (this.#running) {
            this.#again = true;
            return this.#running;
        }
        this.#running = (async () => {
            do {
                this.#again = false;
                if (this.#stopped)
                    return;
                try {
                    for (const ref of await this.options.find())
                        await this.options.onPartition(ref);
                }
                catch (err) {
                    this.options.onError(err);
                }
            } while (this.#again);
        })().finally(() => {
            this.#running = undefined;
        });
        return this.#running;
    }
}
//# sourceMappingURL=supervisor.js.map