/**
 * Clean-up steps registered as resources are created, run once in reverse order: at the end of the demo,
 * or on Ctrl-C, whichever comes first (then the process exits with 130).
 */
export class Teardown {
  readonly #steps: Array<() => Promise<void>> = [];
  #running: Promise<void> | undefined;
  #interrupted = false;

  constructor(private readonly onError: (err: unknown) => void) {}

  get interrupted(): boolean {
    return this.#interrupted;
  }

  defer(step: () => Promise<void>): void {
    this.#steps.push(step);
  }

  run(): Promise<void> {
    this.#running ??= (async () => {
      for (let step = this.#steps.pop(); step; step = this.#steps.pop()) await step().catch(this.onError);
    })();
    return this.#running;
  }

  /**
   * Runs the steps on SIGINT, then exits with 130; a second SIGINT a second later exits at once. Returns the
   * function that stops listening.
   */
  onInterrupt(announce: () => void): () => void {
    let first = 0;
    const handler = () => {
      if (first > 0) {
        if (Date.now() - first > 1000) process.exit(130);
        return; // the same Ctrl-C, delivered to the process and to its group
      }
      first = Date.now();
      this.#interrupted = true;
      // Ctrl-C reaches the whole process group: an embedded Postgres is shutting down already, and work in
      // flight against it fails, some of it (inside pg-boss) without a handler. None of that is news now.
      process.on('unhandledRejection', () => {});
      process.on('uncaughtException', () => {});
      announce();
      void this.run().finally(() => process.exit(130));
    };
    process.on('SIGINT', handler);
    return () => process.off('SIGINT', handler);
  }
}
