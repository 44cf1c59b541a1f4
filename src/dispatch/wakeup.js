/**
 * A sleep that ends early on abort, and, when `wakeable`, on `wake()`. A wake that arrives while the loop
 * is busy is remembered until `clear()`, so a NOTIFY between two steps is not lost.
 */
export class Wakeup {
    #pending = false;
    #resolve;
    wake() {
        this.#pending = true;
        this.#resolve?.();
    }
    /** A wake arrived since the last clear(). */
    get woken() {
        return this.#pending;
    }
    clear() {
        this.#pending = false;
    }
    sleep(ms, signal, wakeable = true) {
        if (ms <= 0 || signal.aborted || (wakeable && this.#pending))
            return Promise.resolve();
        return new Promise((resolve) => {
            const done = () => {
                clearTimeout(timer);
                signal.removeEventListener('abort', done);
                if (this.#resolve === done)
                    this.#resolve = undefined;
                resolve();
            };
            const timer = setTimeout(done, ms);
            signal.addEventListener('abort', done, { once: true });
            if (wakeable)
                this.#resolve = done;
        });
    }
}
//# sourceMappingURL=wakeup.js.map