import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';
import type { DispatcherOptions } from '../../src/index.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SCRIPT = 'test/fixtures/dispatcher-child.ts';

export interface ChildDispatcherOptions {
  databaseUrl: string;
  schema: string;
  replicaSchema: string;
  target?: string;
  sink?: 'replica' | 'redis';
  redisUrl?: string;
  /** Sleep in the middle of each batch. */
  sinkDelayMs?: number;
  dispatcher?: DispatcherOptions;
}

/**
 * test/fixtures/dispatcher-child.ts in a process of its own. It runs as `node --import tsx` rather than
 * through `npx tsx`, so that `pid` is the dispatcher itself and a signal reaches it, not a wrapper.
 */
export class ChildDispatcher {
  readonly process: ChildProcess;
  readonly pid: number;
  /** Set by READY. */
  dispatcherId = '';
  /** Batches in the sink right now, as the child reported them. */
  inFlight = 0;
  /** Called, synchronously with the child's report, when a batch is half in the replica. */
  onHalfway: ((partition: number) => void) | undefined;
  stderr = '';
  readonly ready: Promise<void>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #stdout = '';

  constructor(options: ChildDispatcherOptions) {
    this.process = spawn(process.execPath, ['--import', 'tsx', SCRIPT, options.databaseUrl, options.schema], {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: {
        ...process.env,
        CHILD_REPLICA_SCHEMA: options.replicaSchema,
        CHILD_TARGET: options.target ?? 'replica',
        CHILD_SINK: options.sink ?? 'replica',
        CHILD_REDIS_URL: options.redisUrl ?? '',
        CHILD_SINK_DELAY_MS: String(options.sinkDelayMs ?? 100),
        CHILD_DISPATCHER: JSON.stringify(options.dispatcher ?? {}),
      },
    });
    if (this.process.pid === undefined) throw new Error('could not spawn the dispatcher child');
    this.pid = this.process.pid;
    this.exited = new Promise((resolve) => {
      this.process.on('exit', (code, signal) => resolve({ code, signal }));
    });
    this.process.stderr!.setEncoding('utf8').on('data', (d: string) => {
      this.stderr = (this.stderr + d).slice(-20_000);
    });
    let onReady: () => void = () => {};
    this.ready = new Promise<void>((resolve, reject) => {
      onReady = resolve;
      void this.exited.then(({ code, signal }) =>
        reject(new Error(`dispatcher child exited (${code ?? signal}) before READY: ${this.stderr}`)),
      );
    });
    this.ready.catch(() => {}); // observed by whoever awaits it
    this.process.stdout!.setEncoding('utf8').on('data', (d: string) => {
      this.#stdout += d;
      let nl = this.#stdout.indexOf('\n');
      while (nl >= 0) {
        const line = this.#stdout.slice(0, nl);
        this.#stdout = this.#stdout.slice(nl + 1);
        if (line.startsWith('B+ ')) this.inFlight++;
        else if (line.startsWith('B- ')) this.inFlight--;
        else if (line.startsWith('B~ ')) this.onHalfway?.(Number(line.slice(3)));
        else if (line.startsWith('READY ')) {
          this.dispatcherId = JSON.parse(line.slice(6)).dispatcherId;
          onReady();
        }
        nl = this.#stdout.indexOf('\n');
      }
    });
  }

  get alive(): boolean {
    return this.process.exitCode === null && this.process.signalCode === null;
  }

  kill(signal: NodeJS.Signals): void {
    if (this.alive) process.kill(this.pid, signal);
  }
}

/** Starts children and SIGKILLs whatever is still running after each test, failed or not. */
export function childDispatchers(base: () => ChildDispatcherOptions) {
  const started: ChildDispatcher[] = [];
  afterEach(async () => {
    const all = started.splice(0);
    for (const c of all) c.kill('SIGKILL');
    await Promise.all(all.map((c) => c.exited));
    // What a child complained about helps explain a failure (the test asserts on outcomes, not on this).
    for (const c of all) if (c.stderr.trim()) console.warn(`dispatcher child ${c.pid} stderr:\n${c.stderr}`);
  });
  return {
    async start(overrides: Partial<ChildDispatcherOptions> = {}): Promise<ChildDispatcher> {
      const child = new ChildDispatcher({ ...base(), ...overrides });
      started.push(child);
      await child.ready;
      return child;
    },
  };
}
