import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { DispatcherOptions } from '../../src/index.js';
import type { ChildCommand } from './child-bundle.js';
import type { SinkSettings } from './sinks.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * What bench/support/dispatch-child.ts runs: a walbox dispatcher, plain pg-boss workers, or the backlog's
 * ceiling (walbox's window read of a namespace's entries with nothing around it).
 */
export interface ChildSpec {
  mode: 'walbox' | 'pgboss' | 'ceiling';
  databaseUrl: string;
  /** Connections of the child's pool (pg-boss's `max` in pgboss mode). */
  poolSize: number;
  // walbox mode
  schema: string;
  target: string;
  /** What the dispatcher applies to (sinks.ts). */
  sink: SinkSettings;
  dispatcher?: DispatcherOptions;
  // pgboss mode
  bossSchema?: string;
  queue?: string;
  batchSize: number;
  /** pg-boss: how many work() loops. */
  concurrency: number;
  pollingIntervalSeconds?: number;
  /** Count the statements the dispatcher's pool runs (walbox mode). */
  queryStats?: boolean;
  /**
   * ceiling mode: read every entry of `namespace` written by transactions not visible in the snapshot
   * `since`, partition by partition, `batchSize` at a time, on `concurrency` connections (uses `schema`).
   */
  ceiling?: { namespace: string; partitions: number; since: string };
}

/** Peaks of the child's process.memoryUsage() fields (sampled every 50 ms), in bytes. */
export interface MemoryPeaks {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
}

interface Message {
  type: 'ready' | 'applied' | 'stopped';
  rss?: number;
  peakRss?: number;
  peak?: MemoryPeaks;
  cpu?: number;
  batches?: number;
  keys?: number;
  queries?: Array<[text: string, count: number, ms: number]>;
  data?: number[];
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/**
 * The child as the benchmark sees it: what reached the sink (entries per producer transaction, with the
 * time), and the child's peak RSS. It is node itself (not an `npx tsx` wrapper), so that `pid` is the
 * process whose memory is read.
 */
export class BenchChild {
  readonly process: ChildProcess;
  readonly pid: number;
  readonly spawnedAt = performance.timeOrigin + performance.now();
  readyAt = Number.NaN;
  readyRss = Number.NaN;
  /** CPU time (user + system, µs) the child used by the time it was ready, and by the time it stopped. */
  cpuAtReady = Number.NaN;
  cpuAtStop = Number.NaN;
  /** Set once stopped. */
  memory: MemoryPeaks | undefined;
  /** Set once stopped: how many batches reached the sink, and the statements run (with queryStats). */
  batches = 0;
  /** Set once stopped: distinct keys summed over the batches (a sink other than the no-op one). */
  keys = 0;
  queries: Array<[text: string, count: number, ms: number]> = [];
  /** Entries delivered so far. */
  delivered = 0;
  /** Flattened [appliedAt, tx, n] triples, in arrival order. */
  readonly applied: number[] = [];
  stderr = '';
  readonly ready: Promise<void>;
  readonly exited: Promise<number | null>;
  #stopped: Promise<number> | undefined;
  #reportedPeak = 0;
  #waiters = new Set<() => void>();

  constructor(
    spec: ChildSpec,
    command: ChildCommand,
    options: { cpuProfDir?: string | undefined; nodeFlags?: string[] } = {},
  ) {
    const flags = [
      ...(options.nodeFlags ?? []),
      ...(options.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfDir}`] : []),
    ];
    this.process = spawn(process.execPath, [...flags, ...command.args], {
      cwd: ROOT,
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
      env: { ...process.env, BENCH_CHILD: JSON.stringify(spec) },
    });
    if (this.process.pid === undefined) throw new Error('could not spawn the dispatch child');
    this.pid = this.process.pid;
    live.add(this.process);
    this.process.stderr!.setEncoding('utf8').on('data', (d: string) => {
      this.stderr = (this.stderr + d).slice(-20_000);
      process.stderr.write(d.replace(/^/gm, '  [child] '));
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
      void this.exited.then((code) => reject(new Error(`dispatch child exited (${code}) before ready`)));
    });
    this.ready.catch(() => {});
    this.process.on('message', (m: Message) => {
      if (m.type === 'ready') {
        this.readyAt = performance.timeOrigin + performance.now();
        this.readyRss = m.rss ?? Number.NaN;
        this.cpuAtReady = m.cpu ?? Number.NaN;
        onReady();
      } else if (m.type === 'applied' && m.data) {
        for (let i = 0; i < m.data.length; i += 3) {
          this.applied.push(m.data[i]!, m.data[i + 1]!, m.data[i + 2]!);
          this.delivered += m.data[i + 2]!;
        }
        for (const w of this.#waiters) w();
      } else if (m.type === 'stopped') {
        this.#reportedPeak = m.peakRss ?? 0;
        this.memory = m.peak;
        this.batches = m.batches ?? 0;
        this.keys = m.keys ?? 0;
        this.queries = m.queries ?? [];
        this.cpuAtStop = m.cpu ?? Number.NaN;
      }
    });
  }

  /** Resolves true once `n` entries were delivered, false after `timeoutMs`. */
  waitDelivered(n: number, timeoutMs: number): Promise<boolean> {
    if (this.delivered >= n) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve(ok);
      };
      const check = () => {
        if (this.delivered >= n) done(true);
      };
      const timer = setTimeout(() => done(false), timeoutMs);
      this.#waiters.add(check);
    });
  }

  /** Resolves on the next report from the child (or after `ms`). */
  nextReport(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(timer);
        self.#waiters.delete(done);
        resolve();
      }
      this.#waiters.add(done);
    });
  }

  /**
   * Graceful stop. Returns the peak RSS in bytes: the kernel's high-water mark (VmHWM of
   * /proc/<pid>/status, read just before the stop) where there is one, else the child's own samples.
   */
  stop(): Promise<number> {
    this.#stopped ??= (async () => {
      const hwm = readHighWaterMark(this.pid);
      if (this.process.connected) this.process.send({ type: 'stop' });
      const timer = setTimeout(() => this.process.kill('SIGKILL'), 30_000);
      await this.exited;
      clearTimeout(timer);
      return hwm ?? this.#reportedPeak;
    })();
    return this.#stopped;
  }
}

/** VmHWM (peak resident set size) of a live process in bytes, or undefined off Linux. */
function readHighWaterMark(pid: number): number | undefined {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
