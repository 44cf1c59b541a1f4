import type { Sink, SinkEntry } from '@walbox/sink-kit';

/** What a sink package gives the conformance suite: sinks on its real store, and a way to look inside. */
export interface SinkHarness {
  /** A new sink writing to the store under test, with default options apart from key isolation. */
  create(): Sink | Promise<Sink>;
  /** A sink of the same kind pointed at a loopback port where nothing listens. */
  createDead(): Sink | Promise<Sink>;
  /**
   * The value the store holds for (namespace, key), decoded back to the payload, read through a client of the
   * harness's own; undefined when the key is absent or deleted.
   */
  read(namespace: string, key: string): Promise<unknown>;
  /** Releases the harness's clients (and removes what it wrote, where the store allows). */
  close(): Promise<void>;
  /**
   * Stops the store's server and starts it again on the same address, for the outage case (skipped without
   * it). A store that loses its data on restart (memcached, Redis without persistence) still passes: the
   * case checks that the sink converges on the batch it retries, not that the store kept older keys.
   */
  outage?: { stop(): Promise<void>; start(): Promise<void> };
  /**
   * Turns an entry into one the store refuses, for the partial-failure case. The default gives it an id that
   * is not a bigint, which every sink on @walbox/sink-kit's `lastPerKey` fails; a sink that reads ids some
   * other way supplies its own (a value too large, a key too long).
   */
  poison?(entry: SinkEntry): SinkEntry;
}

export interface DescribeSinkOptions {
  /** False skips every case without calling the harness (a store whose server is missing). Default true. */
  runIf?: boolean;
  /**
   * A Postgres connection string for the case that runs the sink under a real walbox dispatcher: the suite
   * creates a schema there for walbox's log and drops it afterwards. Without it that case is skipped. Needs
   * `walbox` installed (an optional peer dependency of this package).
   */
  databaseUrl?: string;
  /** Time allowed for the store to converge under the dispatcher and after the outage. Default 30,000 ms. */
  convergeTimeoutMs?: number;
}
