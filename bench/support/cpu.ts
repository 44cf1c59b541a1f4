import { readFileSync } from 'node:fs';
import type pg from 'pg';

/** The application_name of every connection the benchmark opens, so its server processes can be found. */
export const BENCH_APPLICATION = 'walbox-bench';

// USER_HZ: the unit of utime and stime in /proc/<pid>/stat. 100 on every mainstream Linux build.
const TICK_MICROS = 10_000;

/** User + system CPU time of a process in µs, from /proc; undefined when it is gone or not on this host. */
export function processCpuMicros(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MICROS;
  } catch {
    return undefined;
  }
}

/**
 * CPU time of the Postgres backends serving the benchmark's connections (application_name
 * BENCH_APPLICATION*), by application_name, read from /proc: only meaningful when Postgres runs on this
 * machine. A connection closed between two readings loses its share, so pools keep their connections open.
 */
export class BackendCpu {
  readonly #start = new Map<number, number>();

  private constructor(private readonly pool: pg.Pool) {}

  static async start(pool: pg.Pool): Promise<BackendCpu> {
    const b = new BackendCpu(pool);
    for (const { pid } of await b.#backends()) {
      const cpu = processCpuMicros(pid);
      if (cpu !== undefined) b.#start.set(pid, cpu);
    }
    return b;
  }

  /** µs of backend CPU since start() per application_name; empty when Postgres is on another host. */
  async used(): Promise<Map<string, number>> {
    const total = new Map<string, number>();
    for (const { pid, app } of await this.#backends()) {
      const cpu = processCpuMicros(pid);
      if (cpu === undefined) continue;
      total.set(app, (total.get(app) ?? 0) + cpu - (this.#start.get(pid) ?? 0));
    }
    return total;
  }

  async #backends(): Promise<Array<{ pid: number; app: string }>> {
    const { rows } = await this.pool.query<{ pid: number; app: string }>(
      `select pid, application_name as app from pg_stat_activity where application_name like $1`,
      [`${BENCH_APPLICATION}%`],
    );
    return rows;
  }
}

/** CPU used, µs: this process, and the Postgres backends serving it and serving the child. */
export interface CpuUsed {
  /** This process (the producers). */
  producers: number;
  /** Backends of this process's connections (appends, commits); NaN where /proc had nothing. */
  pgProducers: number;
  /** Backends of the child's connections (reads, cursor updates, pg-boss); NaN where /proc had nothing. */
  pgConsumer: number;
}

/** CPU used from start() on by this process and by the benchmark's backends. */
export class CpuMeter {
  private constructor(
    private readonly parent: NodeJS.CpuUsage,
    private readonly backends: BackendCpu,
  ) {}

  static async start(pool: pg.Pool): Promise<CpuMeter> {
    return new CpuMeter(process.cpuUsage(), await BackendCpu.start(pool));
  }

  async read(): Promise<CpuUsed> {
    const p = process.cpuUsage(this.parent);
    const used = await this.backends.used();
    let pgConsumer = Number.NaN;
    for (const [app, us] of used) if (app !== BENCH_APPLICATION) pgConsumer = (pgConsumer || 0) + us;
    return {
      producers: p.user + p.system,
      pgProducers: used.get(BENCH_APPLICATION) ?? Number.NaN,
      pgConsumer,
    };
  }
}
