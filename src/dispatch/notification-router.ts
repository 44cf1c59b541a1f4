import type pg from 'pg';
import type { Queryable } from '../executor.js';
import type { NamespaceConfig } from '../namespace-config.js';
import type { Namespaces } from '../namespaces.js';
import { NotificationListener } from './notification-listener.js';
import type { PartitionRef } from './step-types.js';

export interface NotificationRouterOptions {
  connection: pg.ClientConfig;
  channel: string;
  /** Unused: namespaces are read through `namespaces.list()` (kept so callers need not change). */
  db?: Queryable;
  namespaces: Namespaces;
  /** The targets this process drains. */
  targets: ReadonlySet<string>;
  /** A partition of one of `targets` was written to. */
  onPartition(ref: PartitionRef): Promise<void> | void;
  /** The connection came back: notifications sent while it was down are lost. */
  onReconnected(): void;
  onError(err: unknown): void;
}

/**
 * Turns NOTIFY items ("namespace:partition", or a bare namespace for all its partitions) into the partitions
 * of this process's targets they concern. Any login may pg_notify the channel, so an item counts only when it
 * names an existing namespace and one of its partitions: anything else is dropped without a word (no drain
 * job, no cursor row, no error event). Items arriving while a round runs are handled in the next round,
 * deduplicated, so a burst of commits costs one round, not one per commit.
 */
export class NotificationRouter {
  /** Items to route, with when each first arrived. */
  #pending = new Map<string, number>();
  /** Items naming a namespace (or partition) not known yet, to look up again once the list is re-read. */
  #deferred = new Map<string, number>();
  #deferTimer: NodeJS.Timeout | undefined;
  #routing = false;
  #running = false;
  #listener: NotificationListener | undefined;
  readonly #known: KnownNamespaces;

  constructor(private readonly options: NotificationRouterOptions) {
    this.#known = new KnownNamespaces(() => options.namespaces.list());
  }

  async start(): Promise<void> {
    const o = this.options;
    const listener = new NotificationListener({
      connection: o.connection,
      channel: o.channel,
      onItems: (items) => {
        const now = Date.now();
        for (const item of items) {
          if (this.#pending.size < MAX_PENDING && !this.#pending.has(item)) this.#pending.set(item, now);
        }
        if (!this.#routing) void this.#route();
      },
      onReconnected: o.onReconnected,
      onError: o.onError,
    });
    await listener.start();
    this.#listener = listener;
    this.#running = true;
  }

  async stop(): Promise<void> {
    this.#running = false;
    clearTimeout(this.#deferTimer);
    await this.#listener?.stop();
  }

  async #route(): Promise<void> {
    const { targets, onPartition, onError } = this.options;
    this.#routing = true;
    try {
      while (this.#pending.size > 0 && this.#running) {
        const items = [...this.#pending];
        this.#pending.clear();
        for (const [item, arrivedAt] of items) {
          const parsed = parseItem(item);
          if (!parsed) continue; // not something walbox sends: ignored, silently (any login may NOTIFY)
          const ns = await this.#known.lookup(parsed.namespace, parsed.partition, arrivedAt);
          if (ns === 'later') {
            this.#defer(item, arrivedAt);
            continue;
          }
          if (!ns) continue;
          const partitions = parsed.partition === undefined ? range(ns.partitions) : [parsed.partition];
          for (const target of ns.targets) {
            if (!targets.has(target)) continue;
            for (const partition of partitions) await onPartition({ namespace: ns.name, target, partition });
          }
        }
      }
    } catch (err) {
      onError(err);
    } finally {
      this.#routing = false;
    }
  }

  /** Routes `item` again after the next re-read of the namespaces (a namespace created a moment ago). */
  #defer(item: string, arrivedAt: number): void {
    if (this.#deferred.size >= MAX_PENDING) return;
    this.#deferred.set(item, arrivedAt);
    if (this.#deferTimer) return;
    this.#deferTimer = setTimeout(() => {
      this.#deferTimer = undefined;
      for (const [i, at] of this.#deferred) if (!this.#pending.has(i)) this.#pending.set(i, at);
      this.#deferred.clear();
      if (!this.#routing && this.#running) void this.#route();
    }, this.#known.minRefreshMs);
    this.#deferTimer.unref();
  }
}

/** Most items one round holds: a flood of distinct junk items is dropped, the supervisor finds real work. */
const MAX_PENDING = 10_000;
/** "namespace" or "namespace:partition", as notify_append writes them; partitions fit in an int. */
const ITEM = /^([a-z][a-z0-9_.-]{0,62})(?::(0|[1-9][0-9]{0,9}))?$/;

/** The namespace and partition an item names, or undefined when it is not one walbox would send. */
export function parseItem(item: string): { namespace: string; partition?: number } | undefined {
  const m = ITEM.exec(item);
  if (!m) return undefined;
  const partition = m[2] === undefined ? undefined : Number(m[2]);
  if (partition !== undefined && partition > 2_147_483_647) return undefined;
  return partition === undefined ? { namespace: m[1]! } : { namespace: m[1]!, partition };
}

/**
 * The namespaces a NOTIFY may name, read with one query and re-read at most once per `minRefreshMs` when an
 * item names one not known (or a partition beyond its count: the namespace may have grown), and after
 * `maxAgeMs` anyway. Junk items then cost no query each: anyone who may connect may NOTIFY the channel. A
 * miss counts only against a list read after the item arrived; before that, the answer is 'later'.
 */
export class KnownNamespaces {
  #byName = new Map<string, NamespaceConfig>();
  #readAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly list: () => Promise<NamespaceConfig[]>,
    readonly minRefreshMs = 1000,
    private readonly maxAgeMs = 5000,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The namespace, if it exists and `partition` (when given) is one of its partitions; undefined if not, by
   * a list read after `since`; 'later' when the list may be older than the item and was re-read too lately.
   */
  async lookup(
    name: string,
    partition?: number,
    since = Number.NEGATIVE_INFINITY,
  ): Promise<NamespaceConfig | undefined | 'later'> {
    const fits = (ns: NamespaceConfig | undefined) =>
      ns !== undefined && (partition === undefined || partition < ns.partitions) ? ns : undefined;
    const age = this.now() - this.#readAt;
    const hit = fits(this.#byName.get(name));
    if (hit && age < this.maxAgeMs) return hit;
    if (!hit && this.#readAt > since) return undefined;
    if (!hit && age < this.minRefreshMs) return 'later';
    const readAt = this.now();
    const all = await this.list();
    this.#byName = new Map(all.map((ns) => [ns.name, ns]));
    this.#readAt = readAt;
    return fits(this.#byName.get(name));
  }
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
