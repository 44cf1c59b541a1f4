import type { TargetStatus } from '../status.js';

/** One sample of one (namespace, target): when, how many entries were pending, and delivered so far. */
export interface Sample {
  at: number;
  pending: number;
  delivered: number;
}

/**
 * Status sampled in memory while the console is in use, for the overview's history chart and throughput.
 * Starts on the first request (no timer runs for a console nobody opened), samples every `intervalMs`, keeps
 * the newest `size` samples per target, and stops with stop(). The timer does not keep the process alive.
 */
export class StatusHistory {
  readonly #series = new Map<string, Sample[]>();
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #sampling = false;

  constructor(
    private readonly read: () => Promise<TargetStatus[]>,
    private readonly intervalMs: number,
    private readonly size: number,
  ) {}

  /** Begins sampling (idempotent); a stopped history stays stopped. */
  start(): void {
    if (this.#timer || this.#stopped) return;
    this.#timer = setInterval(() => void this.sample(), this.intervalMs);
    this.#timer.unref();
    void this.sample();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Takes one sample now. A failed read (the database is down) leaves a gap instead of failing a page. */
  async sample(): Promise<void> {
    if (this.#sampling) return;
    this.#sampling = true;
    try {
      this.record(await this.read(), Date.now());
    } catch {
      // The overview shows the error of its own status read; the chart just misses this point.
    } finally {
      this.#sampling = false;
    }
  }

  record(targets: readonly TargetStatus[], at: number): void {
    for (const t of targets) {
      const id = seriesId(t.namespace, t.target);
      const series = this.#series.get(id) ?? [];
      series.push({ at, pending: t.pending, delivered: t.delivered });
      if (series.length > this.size) series.splice(0, series.length - this.size);
      this.#series.set(id, series);
    }
  }

  series(namespace: string, target: string): readonly Sample[] {
    return this.#series.get(seriesId(namespace, target)) ?? [];
  }

  /**
   * Entries delivered per second over the newest `window` samples (the last minute at the default interval);
   * undefined before there are two.
   */
  throughput(namespace: string, target: string, window = 12): number | undefined {
    const s = this.series(namespace, target);
    if (s.length < 2) return undefined;
    const a = s[Math.max(0, s.length - window)]!;
    const b = s[s.length - 1]!;
    const seconds = (b.at - a.at) / 1000;
    return seconds > 0 ? Math.max(0, b.delivered - a.delivered) / seconds : undefined;
  }
}

function seriesId(namespace: string, target: string): string {
  return `${namespace}\u0000${target}`;
}
