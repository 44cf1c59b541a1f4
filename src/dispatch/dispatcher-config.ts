import { z } from 'zod';
import { parseOrThrow } from '../namespace-config.js';

export const dispatcherConfigSchema = z
  .object({
    /** Most entries offered to a sink in one apply call. 400 keeps a dispatcher draining a 1M backlog near 180 MiB RSS. */
    batchSize: z.number().int().min(1).max(10_000).default(400),
    /** Partitions this process drains at once. */
    concurrency: z.number().int().min(1).max(256).default(8),
    /**
     * 'listen': LISTEN/NOTIFY wake-ups (tens of ms), with polling as a safety net.
     * 'poll': no LISTEN (PgBouncer transaction pooling); find work every pollIntervalMs.
     */
    wakeup: z.enum(['listen', 'poll']).default('listen'),
    /** After a wake-up, an idle drain waits this long before reading, so near-simultaneous commits batch. */
    wakeupBatchMs: z.number().int().min(0).max(1000).default(0),
    /** How often an idle drain and the supervisor look for new entries when no notification came. */
    pollIntervalMs: z.number().int().min(5).max(60_000).default(250),
    /**
     * With 'listen': a drain that found entries within the last busyMs is busy. Appends skip NOTIFY for a
     * partition whose every target's drain is busy (NOTIFY's commit-time lock serializes committing
     * producers), and the drain polls it every busyPollMs instead. 0: appends always notify.
     */
    busyMs: z.number().int().min(0).max(60_000).default(200),
    /** How often a busy drain looks for new entries (see busyMs). */
    busyPollMs: z.number().int().min(1).max(60_000).default(20),
    /**
     * A drain that keeps delivering writes its position at most this often; a step that parks, retries or
     * dead-letters an entry is written at once, and so is the last one before the drain lets its partition
     * go. Entries delivered since the last write are delivered again after a crash (delivery is at least
     * once). 'delivered' events come when their step is written. 0: every step is written.
     */
    checkpointMs: z.number().int().min(0).max(10_000).default(100),
    /** A drain lease lapses this long after its holder's last heartbeat; a survivor then takes over. */
    leaseMs: z.number().int().min(1000).max(600_000).default(15_000),
    /** How often each dispatcher looks for partitions with work and no live lease. */
    superviseMs: z.number().int().min(100).max(600_000).default(5000),
    /** Longest time one drain job holds a partition before handing it on (fairness across partitions). */
    maxDrainMs: z.number().int().min(100).max(600_000).default(10_000),
    /**
     * A drain with nothing to do gives its partition up after this long; at once when every slot of its
     * process is taken and another partition's drain job waits for one.
     */
    idleReleaseMs: z.number().int().min(0).max(600_000).default(2000),
    /** A sink's apply that takes longer fails the batch (and is retried). */
    applyTimeoutMs: z.number().int().min(100).max(600_000).default(30_000),
    /** pg-boss cron schedule of maintenance: creating day partitions ahead, dropping expired ones. */
    maintenanceCron: z.string().min(9).default('*/15 * * * *'),
    /**
     * Run the hot statements as named prepared statements (planned once per connection, not per run).
     * Turn off behind a PgBouncer in transaction mode older than 1.21, or without max_prepared_statements.
     */
    preparedStatements: z.boolean().default(true),
    /**
     * start() tries again while Postgres cannot serve (restarting, out of connections, unreachable), reporting
     * each failed attempt on 'error', for this long; then it fails with DatabaseUnavailableError. 0: one try.
     */
    startTimeoutMs: z.number().int().min(0).max(3_600_000).default(30_000),
    /** Graceful stop waits this long for in-flight batches, then abandons them (they are re-delivered). */
    stopTimeoutMs: z.number().int().min(0).max(600_000).default(30_000),
  })
  .strict()
  .refine((c) => c.superviseMs < c.leaseMs, { message: 'must be below leaseMs', path: ['superviseMs'] });

export type DispatcherOptions = z.input<typeof dispatcherConfigSchema>;
export type ResolvedDispatcherConfig = Readonly<z.output<typeof dispatcherConfigSchema>>;

export function resolveDispatcherConfig(input: unknown): ResolvedDispatcherConfig {
  return Object.freeze(parseOrThrow(dispatcherConfigSchema, input, ''));
}
