import { Counter, Gauge, Histogram, Registry, type RegistryContentType } from 'prom-client';
import { z } from 'zod';
import type { Dispatcher } from '../dispatch/dispatcher.js';
import { parseOrThrow } from '../namespace-config.js';
import type { TargetStatus } from '../status.js';
import { onAppended } from './append-hooks.js';

/** What the lag gauges read: Walbox, or anything with its status() and schema. */
export interface StatusSource {
  readonly schema: string;
  status(): Promise<TargetStatus[]>;
}

const metricsOptionsSchema = z
  .object({
    /** Where the metrics are registered; default a new Registry (see `registry`). */
    registry: z.instanceof(Registry).optional(),
    /** The Walbox whose appends (in this process) and lag (read with status() on scrape) are measured. */
    walbox: z
      .custom<StatusSource>((v) => typeof (v as StatusSource)?.status === 'function', 'must be a Walbox')
      .optional(),
    /** Dispatchers whose deliveries, retries, dead letters and leases are counted. */
    dispatchers: z
      .array(z.custom<Dispatcher>((v) => typeof (v as Dispatcher)?.on === 'function', 'must be a Dispatcher'))
      .default([]),
    /** A scrape reuses a status() read younger than this, so frequent scrapes cost one query per period. */
    statusMaxAgeMs: z.number().int().min(0).max(3_600_000).default(5000),
    /** Upper bounds of the commit-to-applied histogram, in seconds. */
    latencyBuckets: z
      .array(z.number().positive())
      .min(1)
      .default([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800]),
  })
  .strict();

export type MetricsOptions = z.input<typeof metricsOptionsSchema>;

const NT = ['namespace', 'target'] as const;

/**
 * Prometheus metrics of walbox (prom-client). Counters come from the dispatchers' events and this process's
 * appends; the lag gauges from `walbox.status()`, read when scraped (throttled by statusMaxAgeMs). Call
 * `observe(dispatcher)` for dispatchers created later, and `close()` to stop listening.
 */
export class WalboxMetrics {
  readonly registry: Registry<RegistryContentType>;
  readonly #detach: Array<() => void> = [];
  readonly #appended: Counter<'namespace'>;
  readonly #delivered: Counter<(typeof NT)[number]>;
  readonly #failures: Counter<'namespace' | 'target' | 'scope'>;
  readonly #retried: Counter<(typeof NT)[number]>;
  readonly #deadLettered: Counter<(typeof NT)[number]>;
  readonly #takeovers: Counter<(typeof NT)[number]>;
  readonly #latency: Histogram<(typeof NT)[number]>;
  readonly #batchSize: Histogram<(typeof NT)[number]>;
  #status: { at: number; read: Promise<TargetStatus[] | undefined> } | undefined;

  constructor(options: MetricsOptions = {}) {
    const o = parseOrThrow(metricsOptionsSchema, options);
    this.registry = o.registry ?? new Registry();
    const registers = [this.registry] as Array<Registry<'text/plain; version=0.0.4; charset=utf-8'>>;
    this.#appended = new Counter({
      name: 'walbox_appended_entries_total',
      help: 'Entries appended by this process (counted when the append returns, before its transaction commits)',
      labelNames: ['namespace'],
      registers,
    });
    this.#delivered = counter(registers, 'walbox_delivered_entries_total', 'Entries applied to their target');
    this.#failures = new Counter({
      name: 'walbox_apply_failures_total',
      help: 'Failed applies: scope="entry" for an entry the sink failed, scope="batch" for a whole batch that failed',
      labelNames: [...NT, 'scope'],
      registers,
    });
    this.#retried = counter(
      registers,
      'walbox_retried_entries_total',
      'Entries that failed and were scheduled for a retry',
    );
    this.#deadLettered = counter(
      registers,
      'walbox_dead_lettered_entries_total',
      'Entries moved to the dead letters',
    );
    this.#takeovers = counter(
      registers,
      'walbox_lease_takeovers_total',
      'Partitions this process lost to another dispatcher after its lease lapsed (counted by the process that lost it)',
    );
    this.#latency = new Histogram({
      name: 'walbox_commit_to_applied_seconds',
      help: "From the entry's transaction timestamp (or its deliverAt, if later) to its successful apply",
      labelNames: NT,
      buckets: o.latencyBuckets,
      registers,
    });
    this.#batchSize = new Histogram({
      name: 'walbox_batch_size',
      help: 'Entries applied per drain step',
      labelNames: NT,
      buckets: [1, 2, 5, 10, 25, 50, 100, 200, 400, 1000, 2500, 10_000],
      registers,
    });
    if (o.walbox) this.#observeWalbox(o.walbox, o.statusMaxAgeMs, registers);
    for (const d of o.dispatchers) this.observe(d);
  }

  /** Counts what `dispatcher` does; returns the function that stops counting (close() also does). */
  observe(dispatcher: Dispatcher): () => void {
    const handlers = {
      delivered: (e: {
        namespace: string;
        target: string;
        entries: readonly import('../entry.js').Entry[];
      }) => {
        const labels = { namespace: e.namespace, target: e.target };
        const now = Date.now();
        this.#delivered.inc(labels, e.entries.length);
        this.#batchSize.observe(labels, e.entries.length);
        const timer = this.#latency.labels(labels);
        for (const entry of e.entries) {
          const from = Math.max(entry.createdAt.getTime(), entry.deliverAt?.getTime() ?? 0);
          timer.observe(Math.max(0, now - from) / 1000);
        }
      },
      retried: (e: { target: string; entry: { namespace: string } }) => {
        const labels = { namespace: e.entry.namespace, target: e.target };
        this.#retried.inc(labels);
        this.#failures.inc({ ...labels, scope: 'entry' });
      },
      'dead-lettered': (e: { target: string; entry: { namespace: string } }) => {
        const labels = { namespace: e.entry.namespace, target: e.target };
        this.#deadLettered.inc(labels);
        this.#failures.inc({ ...labels, scope: 'entry' });
      },
      'batch-failed': (e: { namespace: string; target: string }) =>
        this.#failures.inc({ namespace: e.namespace, target: e.target, scope: 'batch' }),
      'lease-lost': (e: { namespace: string; target: string }) =>
        this.#takeovers.inc({ namespace: e.namespace, target: e.target }),
    };
    for (const [event, handler] of Object.entries(handlers))
      dispatcher.on(event as 'error', handler as () => void);
    const detach = () => {
      for (const [event, handler] of Object.entries(handlers))
        dispatcher.off(event as 'error', handler as () => void);
    };
    this.#detach.push(detach);
    return detach;
  }

  #observeWalbox(walbox: StatusSource, maxAgeMs: number, registers: Registry<RegistryContentType>[]): void {
    this.#detach.push(
      onAppended((schema, entries) => {
        if (schema !== walbox.schema) return;
        for (const e of entries) if (!e.duplicate) this.#appended.inc({ namespace: e.namespace });
      }),
    );
    // One status() read serves every gauge of a scrape, and every scrape within maxAgeMs.
    const read = (): Promise<TargetStatus[] | undefined> => {
      if (!this.#status || Date.now() - this.#status.at > maxAgeMs) {
        this.#status = {
          at: Date.now(),
          read: walbox.status().catch(() => {
            readErrors.inc();
            return undefined;
          }),
        };
      }
      return this.#status.read;
    };
    const readErrors = new Counter({
      name: 'walbox_status_read_errors_total',
      help: 'Scrapes whose status() read failed (the lag gauges then keep their last values)',
      registers,
    });
    const gauge = (name: string, help: string, value: (t: TargetStatus) => number) =>
      new Gauge({
        name,
        help,
        labelNames: NT,
        registers,
        async collect() {
          const targets = await read();
          if (!targets) return;
          this.reset();
          for (const t of targets) this.set({ namespace: t.namespace, target: t.target }, value(t));
        },
      });
    gauge(
      'walbox_pending_entries',
      'Log entries not offered to the target yet (counting stops at 100,000 per partition)',
      (t) => t.pending,
    );
    gauge(
      'walbox_oldest_pending_seconds',
      'Age of the oldest entry not delivered yet; 0 when none is pending',
      (t) => t.lagMs / 1000,
    );
    gauge(
      'walbox_parked_entries',
      'Entries delayed, backing off, queued behind their key or blocked',
      (t) => t.parked,
    );
    gauge(
      'walbox_blocked_keys',
      'Keys blocked until an operator redrives or discards their dead letter',
      (t) => t.blocked,
    );
    gauge('walbox_dead_letters', 'Open dead letters', (t) => t.dead);
    gauge(
      'walbox_failing_partitions',
      'Partitions whose last batch failed as a whole (the target is down)',
      (t) => t.failing,
    );
  }

  /** Stops counting (the registry keeps the values). */
  close(): void {
    for (const detach of this.#detach.splice(0)) detach();
  }
}

function counter(
  registers: Registry<RegistryContentType>[],
  name: string,
  help: string,
): Counter<(typeof NT)[number]> {
  return new Counter({ name, help, labelNames: NT, registers });
}

/** Metrics for a Walbox and its dispatchers: `createMetrics({ walbox, dispatchers: [d] }).registry.metrics()`. */
export function createMetrics(options: MetricsOptions = {}): WalboxMetrics {
  return new WalboxMetrics(options);
}
