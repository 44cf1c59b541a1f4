/** The systems bench:peers compares, in the order they run. */
export const SYSTEMS = ['walbox', 'graphile-worker', 'pg-boss', 'ceiling'] as const;
export type SystemName = (typeof SYSTEMS)[number];

/** What consumer-child.ts runs, as JSON in PEERS_CONSUMER. */
export interface ConsumerSpec {
  system: SystemName;
  databaseUrl: string;
  /** application_name of every connection the consumer opens: its backends' CPU is read by that name. */
  applicationName: string;
  /** The system's own schema (graphile-worker's, pg-boss's, walbox's, or the ceiling's table's). */
  schema: string;
  walbox: { target: string; batchSize: number; concurrency: number };
  graphile: { task: string; concurrency: number; localQueueSize: number };
  pgboss: { queue: string; batchSize: number; workers: number; pollingIntervalSeconds: number };
  ceiling: { pollMs: number };
}

/**
 * Child to parent, over IPC. `applied.data` is a flat list of groups `at, count, n1 .. n<count>`: entries
 * numbered n1.. reached the consumer's handler at `at` (epoch ms, sub-ms precision), in that order.
 */
export type ConsumerMessage = { type: 'ready' } | { type: 'applied'; data: number[] } | { type: 'stopped' };

/** Every entry's payload carries its number in the run; the consumer reports it back. */
export interface NumberedPayload {
  n: number;
}
