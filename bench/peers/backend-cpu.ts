import type pg from 'pg';
import { processCpuMicros } from '../support/cpu.js';

/**
 * CPU time of the Postgres backends whose application_name is exactly `name`, read from /proc (so only
 * where Postgres runs on this machine). bench/support/cpu.ts does the same for every `walbox-bench%`
 * connection; bench:peers names its connections per run instead, so that another benchmark running on the
 * same server is not counted. A backend that exits between start() and used() loses its share: the pools
 * keep their connections open.
 */
export class BackendCpu {
  readonly #start = new Map<number, number>();

  private constructor(
    private readonly pool: pg.Pool,
    private readonly name: string,
  ) {}

  static async start(pool: pg.Pool, name: string): Promise<BackendCpu> {
    const b = new BackendCpu(pool, name);
    for (const pid of await b.#pids()) {
      const cpu = processCpuMicros(pid);
      if (cpu !== undefined) b.#start.set(pid, cpu);
    }
    return b;
  }

  /** µs used since start(); NaN when no backend could be read (Postgres on another host). */
  async used(): Promise<number> {
    let total = Number.NaN;
    for (const pid of await this.#pids()) {
      const cpu = processCpuMicros(pid);
      if (cpu !== undefined) total = (Number.isNaN(total) ? 0 : total) + cpu - (this.#start.get(pid) ?? 0);
    }
    return total;
  }

  async #pids(): Promise<number[]> {
    const { rows } = await this.pool.query<{ pid: number }>(
      'select pid from pg_stat_activity where application_name = $1',
      [this.name],
    );
    return rows.map((r) => r.pid);
  }
}
