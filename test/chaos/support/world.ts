import pg from 'pg';
import {
  createThrowawayPostgres,
  type ThrowawayPostgres,
} from '../../../packages/throwaway-postgres/src/index.js';
import { type DispatcherOptions, Walbox } from '../../../src/index.js';
import { checkDeliveries, type EntryRef } from '../../support/delivery-check.js';
import { type MemcachedServer, type RedisServer, startMemcached, startRedis } from '../../support/servers.js';
import { LineProcess } from './child.js';
import type { ScenarioRow } from './report.js';
import { type LastEntry, StoreWatch } from './stores.js';

export const NAMESPACE = 'orders';
export const TARGETS = ['redis', 'memcached', 'record'] as const;
const SCHEMA = 'chaos';
/** The namespace's retry policy here: a replica must converge after outages, so no dead letters. */
const CHAOS_RETRY = { limit: 1000, initialDelayMs: 500, maxDelayMs: 5000 };

export interface WorldOptions {
  keys?: number;
  partitions?: number;
  maxConnections?: number;
  /** More Postgres settings. */
  postgresSettings?: Readonly<Record<string, string>>;
  dispatcher?: DispatcherOptions;
  /** Sleep inside each apply of the `record` sink. */
  recordApplyMs?: number;
  /** Connect producers and dispatchers here instead of to Postgres directly (a PgBouncer in front of it). */
  clientUrl?: (postgresUrl: string) => Promise<string>;
}

/**
 * One scenario's world: a Postgres of its own (restartable), a durable Redis, a memcached, producer and
 * dispatcher processes, and the bookkeeping the checker needs: what producers committed and rolled back,
 * what the `record` sink applied and when, what each store held over time.
 */
export class World {
  postgres!: ThrowawayPostgres;
  redis!: RedisServer;
  memcached!: MemcachedServer;
  /** This test's own pool and walbox, for reading the log and status. */
  pool!: pg.Pool;
  walbox!: Walbox;
  stores!: StoreWatch;
  clientUrl = '';
  readonly keys: string[];
  readonly producers: LineProcess[] = [];
  readonly dispatchers: Array<LineProcess | undefined> = [];
  /** Commit time (Date.now() in the producer) of each entry whose COMMIT returned. */
  readonly committedAt = new Map<string, number>();
  readonly rolledBack = new Set<string>();
  /** Entries whose COMMIT failed with the connection: the log decides. */
  readonly unknown = new Set<string>();
  /** What the `record` sink applied, in the order the processes reported it. */
  readonly applied: Array<EntryRef & { at: number }> = [];
  readonly firstAppliedAt = new Map<string, number>();
  readonly errors: string[] = [];
  /** Largest batch being applied right now, per target; scenarios wait for a large one to strike. */
  onBatch: ((target: string, size: number) => void) | undefined;
  rssPeak = 0;
  attempted = 0;

  constructor(readonly options: WorldOptions = {}) {
    this.keys = Array.from({ length: options.keys ?? 200 }, (_, i) => `k${i}`);
  }

  async start(): Promise<void> {
    this.postgres = await createThrowawayPostgres({
      database: 'walbox_chaos',
      prefix: 'walbox-chaos-',
      maxConnections: this.options.maxConnections ?? 200,
      ...(this.options.postgresSettings ? { settings: this.options.postgresSettings } : {}),
    });
    await this.postgres.start();
    this.redis = await startRedis({ durable: true });
    this.memcached = await startMemcached();
    this.pool = new pg.Pool({ connectionString: this.postgres.url, max: 4 });
    this.pool.on('error', () => {});
    this.walbox = new Walbox({ pool: this.pool, schema: SCHEMA });
    await this.walbox.migrate();
    await this.walbox.namespaces.upsert({
      name: NAMESPACE,
      partitions: this.options.partitions ?? 4,
      targets: [...TARGETS],
      retry: CHAOS_RETRY,
    });
    this.clientUrl = this.options.clientUrl
      ? await this.options.clientUrl(this.postgres.url)
      : this.postgres.url;
    this.stores = new StoreWatch(this.redis.url, this.memcached.servers, NAMESPACE, this.keys);
    this.stores.start();
  }

  /**
   * The steady state most scenarios strike in: the world started, `dispatchers` dispatcher processes ready,
   * two producers offering 250 entries/s each, and `delivered` entries applied already.
   */
  async startSteady({ dispatchers = 2, delivered = 1000 } = {}): Promise<void> {
    await this.start();
    await Promise.all(Array.from({ length: dispatchers }, (_, i) => this.startDispatcher(i)));
    this.startProducers(2, { rate: 250 });
    await until('the first deliveries', () => this.firstAppliedAt.size >= delivered);
  }

  async close(): Promise<void> {
    await Promise.all([...this.producers, ...this.dispatchers].map((p) => p?.stop(5000)));
    this.stores?.close();
    await this.pool?.end().catch(() => {});
    await this.postgres?.stop();
  }

  startProducers(count: number, env: { rate?: number; txSize?: number } = {}): void {
    for (let i = 0; i < count; i++) {
      const seed = this.producers.length + 1;
      const p = new LineProcess(
        'test/chaos/fixtures/producer.ts',
        [this.clientUrl, SCHEMA, NAMESPACE],
        {
          PRODUCER_KEYS: String(this.keys.length),
          PRODUCER_SEED: String(seed),
          PRODUCER_RATE: String(env.rate ?? 250),
          PRODUCER_TX: String(env.txSize ?? 10),
        },
        (line) => this.#producerLine(line),
      );
      this.producers.push(p);
    }
  }

  /** Stops every producer (SIGTERM: each finishes its transaction) and waits for them. */
  async stopProducers(): Promise<void> {
    await Promise.all(this.producers.map((p) => p.stop()));
  }

  /** Starts dispatcher number `i` (again, after it died); resolves once it is READY. */
  async startDispatcher(i: number): Promise<LineProcess> {
    let ready = () => {};
    const isReady = new Promise<void>((resolve) => {
      ready = resolve;
    });
    const d = new LineProcess(
      'test/chaos/fixtures/dispatcher.ts',
      [this.clientUrl, SCHEMA],
      {
        CHAOS_REDIS_URL: this.redis.url,
        CHAOS_MEMCACHED: this.memcached.servers,
        CHAOS_DISPATCHER: JSON.stringify(this.options.dispatcher ?? {}),
        CHAOS_RECORD_APPLY_MS: String(this.options.recordApplyMs ?? 0),
      },
      (line) => {
        if (line.startsWith('READY ')) ready();
        else this.#dispatcherLine(line);
      },
    );
    this.dispatchers[i] = d;
    await Promise.race([
      isReady,
      d.exited.then(({ code, signal }) => {
        throw new Error(`dispatcher ${i} exited (${code ?? signal}) before READY: ${d.stderr}`);
      }),
    ]);
    return d;
  }

  /** Starts dispatcher `i` again and again until it is READY, as a service supervisor would. */
  async startDispatcherRetrying(i: number, timeoutMs = 120_000): Promise<LineProcess> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        return await this.startDispatcher(i);
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await sleep(500);
      }
    }
  }

  #producerLine(line: string): void {
    const [tag, a = '', b = ''] = line.split(' ');
    if (tag === 'C') for (const id of b.split(',')) this.committedAt.set(id, Number(a));
    else if (tag === 'R') for (const id of a.split(',')) this.rolledBack.add(id);
    else if (tag === 'X') for (const id of a.split(',')) this.unknown.add(id);
    else if (tag === 'DONE') this.attempted += Number(a);
  }

  #dispatcherLine(line: string): void {
    const space = line.indexOf(' ');
    const tag = line.slice(0, space);
    const rest = line.slice(space + 1);
    if (tag === 'A') {
      const [at = '0', list = ''] = rest.split(' ');
      for (const item of list.split(',')) {
        const [id = '', key = ''] = item.split(':');
        this.applied.push({ id, key, at: Number(at) });
        if (!this.firstAppliedAt.has(id)) this.firstAppliedAt.set(id, Number(at));
      }
    } else if (tag === 'B') {
      const [target = '', size = '0'] = rest.split(' ');
      this.onBatch?.(target, Number(size));
    } else if (tag === 'M') this.rssPeak = Math.max(this.rssPeak, Number(rest));
    else if (tag === 'E') this.errors.push(rest);
  }

  /** The committed log, in id order. */
  async log(): Promise<Array<EntryRef & LastEntry>> {
    const { rows } = await this.pool.query<EntryRef & LastEntry>(
      `select a.id::text, a.key, a.op, a.after as payload from "${SCHEMA}".audit a
        where a.namespace = $1 order by a.id`,
      [NAMESPACE],
    );
    return rows;
  }

  /** Entries of the log not yet delivered to each target (walbox.status), summed over targets. */
  async pending(): Promise<number> {
    const status = await this.walbox.status();
    return status.reduce((sum, t) => sum + t.pending + t.parked, 0);
  }

  /**
   * Waits until every target has delivered the whole log and the record sink reported all of it; returns
   * how long that took.
   */
  async drained(timeoutMs = 120_000): Promise<number> {
    const start = Date.now();
    for (;;) {
      const log = await this.log().catch(() => undefined);
      if (
        log &&
        (await this.pending().catch(() => 1)) === 0 &&
        log.every((e) => this.firstAppliedAt.has(e.id))
      )
        return Date.now() - start;
      if (Date.now() - start > timeoutMs) {
        const missing = log?.filter((e) => !this.firstAppliedAt.has(e.id)).length;
        throw new Error(
          `not drained after ${timeoutMs} ms: ${missing} entries never reached the record sink`,
        );
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** The figures of the scenario's row, from the log, what was applied and what the stores hold. */
  async check(scenario: string, recovery: string): Promise<ScenarioRow> {
    await this.stores.stop();
    const log = await this.log();
    const last = new Map<string, LastEntry>();
    for (const e of log) last.set(e.key, e);
    const delivery = checkDeliveries(log, this.applied);
    const stores = await this.stores.mismatches(last);
    const rolledBackApplied = [...this.firstAppliedAt.keys()].filter((id) => this.rolledBack.has(id));
    return {
      scenario,
      appended: this.attempted,
      committed: log.length,
      applied: this.firstAppliedAt.size - delivery.unexpected.length,
      lost: delivery.lost.length,
      rolledBackApplied: new Set([...delivery.unexpected, ...rolledBackApplied]).size,
      reorderedKeys: delivery.reorderedKeys.length,
      backwards: this.stores.backwards.redis + this.stores.backwards.memcached,
      staleKeys: stores.redis.length + stores.memcached.length,
      redelivered: delivery.redelivered,
      recovery,
    };
  }

  /** p50 and p99 of commit-to-applied (record sink) for entries committed in [from, to). */
  latency(from: number, to: number): { p50: number; p99: number; n: number } {
    const samples: number[] = [];
    for (const [id, at] of this.committedAt)
      if (at >= from && at < to && this.firstAppliedAt.has(id))
        samples.push(this.firstAppliedAt.get(id)! - at);
    samples.sort((a, b) => a - b);
    const q = (p: number) =>
      samples[Math.min(samples.length - 1, Math.floor(p * samples.length))] ?? Number.NaN;
    return { p50: q(0.5), p99: q(0.99), n: samples.length };
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Waits until `ok()` holds, checking every 25 ms. */
export async function until(
  what: string,
  ok: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
}
