import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bundledCommands } from '../support/child-bundle.js';
import { processCpuMicros } from '../support/cpu.js';
import type { ConsumerMessage, ConsumerSpec } from './consumer-spec.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SCRIPT = 'bench/peers/consumer-child.ts';
// Under bench/peers so that packages of this workspace resolve from it; .tmp/ is git-ignored.
const OUT_DIR = 'bench/peers/.tmp';

export interface ConsumerCommand {
  args: string[];
  runtime: string;
}

/**
 * The consumer child as compiled JavaScript (bench/support/child-bundle.ts): the tsx loader would add ~45 MiB
 * to every consumer's RSS. tsx when bundling fails or BENCH_CHILD_RUNTIME=tsx.
 */
export async function consumerCommand(): Promise<ConsumerCommand> {
  const [command] = await bundledCommands({ scripts: [SCRIPT], outDir: OUT_DIR });
  return command!;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/**
 * One consumer process as the parent sees it: the entries its handlers were given (entry number and time,
 * in the order they were handled), how many distinct entries of the run arrived, its CPU and peak RSS.
 */
export class Consumer {
  readonly process: ChildProcess;
  readonly pid: number;
  readonly ready: Promise<void>;
  readonly exited: Promise<number | null>;
  /** Flattened [at, n] pairs in arrival order, duplicates included. */
  readonly arrivals: number[] = [];
  /** Distinct entries of the run that arrived, and when the last new one did. */
  distinct = 0;
  lastNewAt = Number.NaN;
  readonly #seen: Uint8Array;
  readonly #waiters = new Set<() => void>();
  #stopped: Promise<number | undefined> | undefined;

  /** `cpuProfDir`: run the child with --cpu-prof, its profile written there when it exits. */
  constructor(spec: ConsumerSpec, command: ConsumerCommand, total: number, cpuProfDir?: string) {
    this.#seen = new Uint8Array(total);
    const prof = cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`] : [];
    this.process = spawn(process.execPath, [...prof, ...command.args], {
      cwd: ROOT,
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
      env: { ...process.env, PEERS_CONSUMER: JSON.stringify(spec) },
    });
    if (this.process.pid === undefined) throw new Error('could not spawn the consumer');
    this.pid = this.process.pid;
    live.add(this.process);
    this.process.stderr!.setEncoding('utf8').on('data', (d: string) => {
      process.stderr.write(d.replace(/^/gm, `  [${spec.system}] `));
    });
    this.exited = new Promise((resolve) => {
      this.process.once('exit', (code) => {
        live.delete(this.process);
        resolve(code);
      });
    });
    let onReady = () => {};
    this.ready = new Promise<void>((resolve, reject) => {
      onReady = resolve;
      void this.exited.then((code) =>
        reject(new Error(`${spec.system} consumer exited (${code}) before ready`)),
      );
    });
    this.ready.catch(() => {});
    this.process.on('message', (m: ConsumerMessage) => {
      if (m.type === 'ready') onReady();
      else if (m.type === 'applied') this.#take(m.data);
    });
  }

  #take(data: number[]): void {
    for (let i = 0; i < data.length; ) {
      const at = data[i]!;
      const count = data[i + 1]!;
      for (let k = 0; k < count; k++) {
        const n = data[i + 2 + k]!;
        this.arrivals.push(at, n);
        if (n >= 0 && n < this.#seen.length && this.#seen[n] === 0) {
          this.#seen[n] = 1;
          this.distinct++;
          this.lastNewAt = at;
        }
      }
      i += 2 + count;
    }
    for (const w of this.#waiters) w();
  }

  /** Resolves true once `n` distinct entries arrived; false after `timeoutMs` or if the consumer exits. */
  waitDistinct(n: number, timeoutMs: number): Promise<boolean> {
    if (this.distinct >= n) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve(ok);
      };
      const check = () => {
        if (this.distinct >= n) done(true);
      };
      const timer = setTimeout(() => done(false), timeoutMs);
      this.#waiters.add(check);
      void this.exited.then(() => done(this.distinct >= n));
    });
  }

  /** User + system CPU of the consumer process so far, µs. */
  cpuMicros(): number {
    return processCpuMicros(this.pid) ?? Number.NaN;
  }

  /** Graceful stop; resolves the peak RSS (VmHWM, read just before the stop) in bytes. */
  stop(): Promise<number | undefined> {
    this.#stopped ??= (async () => {
      const hwm = highWaterMark(this.pid);
      if (this.process.connected) this.process.send({ type: 'stop' });
      const timer = setTimeout(() => this.process.kill('SIGKILL'), 30_000);
      await this.exited;
      clearTimeout(timer);
      return hwm;
    })();
    return this.#stopped;
  }
}

/** VmHWM (peak resident set size) of a live process in bytes, or undefined off Linux. */
function highWaterMark(pid: number): number | undefined {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
