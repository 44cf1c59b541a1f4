import pg from 'pg';
import { z } from 'zod';
import { InvalidNameError } from '../errors.js';
import { assertIdentifier, LOGICAL_NAME } from '../names.js';
import { namespaceConfigSchema, parseOrThrow } from '../namespace-config.js';

/** A queue's log namespace and target are "jobs.<queue>": both logical names, so 58 characters at most. */
const QUEUE_NAME = /^[a-z][a-z0-9_.-]{0,57}$/;

export function assertQueueName(queue: unknown): asserts queue is string {
  if (typeof queue !== 'string' || !QUEUE_NAME.test(queue)) {
    throw new InvalidNameError(
      'job queue',
      queue,
      'use 1-58 lower-case letters, digits, _, . or -, starting with a letter',
    );
  }
}

/** The namespace and target name of a queue. */
export function queueNamespace(queue: string): string {
  const name = `jobs.${queue}`;
  if (!LOGICAL_NAME.test(name)) assertQueueName(queue);
  return name;
}

const queueOptionsSchema = z
  .object({
    /**
     * Log partitions of the queue's namespace when walbox creates it on first use: up to this many drains
     * run jobs at once (one per partition). An existing namespace is left as it is (change it with
     * `walbox namespaces upsert jobs.<queue>`).
     */
    partitions: z.number().int().min(1).max(1024).default(4),
    /** Retries of a failing job (the dispatcher's backoff), for a namespace walbox creates. */
    retry: namespaceConfigSchema.shape.retry.unwrap().optional(),
    onExhausted: z.enum(['dead-letter', 'block']).default('dead-letter'),
  })
  .strict();

export type JobQueueOptions = z.input<typeof queueOptionsSchema>;
export type ResolvedJobQueueOptions = Readonly<z.output<typeof queueOptionsSchema>>;

export function resolveJobQueueOptions(input: unknown): ResolvedJobQueueOptions {
  return Object.freeze(parseOrThrow(queueOptionsSchema, input ?? {}));
}

const jobSinkConfigSchema = z
  .object({
    /** A pool to walbox's database, for claiming and finishing jobs. Give this or connectionString. */
    pool: z.instanceof(pg.Pool).optional(),
    /** The sink then opens (and on close() ends) its own pool. */
    connectionString: z.string().min(1).optional(),
    /** walbox's schema in that database. */
    schema: z.string().default('walbox'),
    /** Handlers of one batch running at once (jobs of one shared key always run one after the other). */
    concurrency: z.number().int().min(1).max(1000).default(16),
    /**
     * How long a claim waits for a transaction that holds the job's row (a cancel or reschedule in flight) to
     * end. Past it, the attempt fails and the dispatcher retries the job after its backoff (a retry spent).
     */
    claimWaitMs: z.number().int().min(1).max(60_000).default(2000),
    /** Called with errors nobody awaits (an idle connection of the sink's own pool was lost). */
    onError: z.custom<(err: Error) => void>((v) => typeof v === 'function', 'must be a function').optional(),
  })
  .strict()
  .refine((c) => (c.connectionString === undefined) !== (c.pool === undefined), {
    message: 'give exactly one of connectionString or pool',
    path: ['connectionString'],
  });

export type JobSinkConfig = z.input<typeof jobSinkConfigSchema>;
export type ResolvedJobSinkConfig = Readonly<z.output<typeof jobSinkConfigSchema>>;

export function resolveJobSinkConfig(input: unknown): ResolvedJobSinkConfig {
  const config = parseOrThrow(jobSinkConfigSchema, input);
  assertIdentifier('schema', config.schema);
  return Object.freeze(config);
}
