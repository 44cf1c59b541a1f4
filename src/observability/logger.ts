import { pino } from 'pino';
import { z } from 'zod';
import type { Dispatcher } from '../dispatch/dispatcher.js';
import { parseOrThrow } from '../namespace-config.js';
import { redactSecrets } from '../redact.js';

/** One log call as pino takes it: fields first, then the message. */
export type LogFn = (fields: object, message?: string) => void;

/**
 * What walbox logs through: pino's shape (`logger.warn({ namespace }, 'message')`), so a pino logger of the
 * application's (or a child of it) can be passed as is; anything with these four methods will do.
 */
export interface WalboxLogger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
}

export const LOG_LEVELS = ['silent', 'fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const loggerOptionsSchema = z
  .object({
    /** Default 'warn': quiet unless something is wrong (retries, dead letters, failing batches, errors). */
    level: z.enum(LOG_LEVELS).default('warn'),
    /** Where the JSON lines go: a file descriptor (default 1, stdout) written synchronously. */
    fd: z.number().int().min(1).default(1),
  })
  .strict();

export type LoggerOptions = z.input<typeof loggerOptionsSchema>;

/** A pino logger writing JSON lines, with secrets redacted from error messages and stacks. */
export function createLogger(options: LoggerOptions = {}): WalboxLogger & { level: string } {
  const o = parseOrThrow(loggerOptionsSchema, options);
  return pino(
    {
      name: 'walbox',
      level: o.level,
      serializers: { err: serializeError },
      // Fields walbox never logs, should a caller's bindings carry them.
      redact: { paths: ['password', 'connectionString', '*.password', '*.connectionString'], censor: '***' },
    },
    pino.destination({ dest: o.fd, sync: true }),
  );
}

function serializeError(err: unknown): object {
  if (!(err instanceof Error)) return { message: redactSecrets(String(err)) };
  const e = err as Error & { code?: unknown };
  return {
    type: e.name,
    message: redactSecrets(e.message),
    ...(e.code === undefined ? {} : { code: e.code }),
    ...(e.stack ? { stack: redactSecrets(e.stack) } : {}),
  };
}

/**
 * Logs what `dispatcher` does through `logger`: its lifecycle at info, each delivered batch at debug, retries,
 * failing batches and lost leases at warn, dead letters and errors at error. Every line names the namespace,
 * target, partition and entry ids it is about; keys and payloads are never logged (they may be personal
 * data). Returns a function that stops logging.
 */
export function logDispatcher(dispatcher: Dispatcher, logger: WalboxLogger): () => void {
  const dispatcherId = dispatcher.id;
  const on: { [K in keyof Handlers]: Handlers[K] } = {
    started: () => logger.info({ dispatcherId }, 'dispatcher started'),
    stopped: () => logger.info({ dispatcherId }, 'dispatcher stopped'),
    delivered: (e) =>
      logger.debug(
        {
          namespace: e.namespace,
          target: e.target,
          partition: e.partition,
          count: e.entries.length,
          entryIds: e.entries.slice(0, 50).map((x) => x.id),
        },
        'delivered',
      ),
    retried: (e) =>
      logger.warn(
        {
          namespace: e.entry.namespace,
          target: e.target,
          partition: e.entry.partition,
          entryId: e.entry.id,
          attempt: e.attempt,
          nextAttemptAt: e.nextAttemptAt,
          error: redactSecrets(e.error),
        },
        'entry failed, will retry',
      ),
    'dead-lettered': (e) =>
      logger.error(
        {
          namespace: e.entry.namespace,
          target: e.target,
          partition: e.entry.partition,
          entryId: e.entry.id,
          attempts: e.attempts,
          blocked: e.blocked,
          error: redactSecrets(e.error),
        },
        e.blocked ? 'entry dead-lettered, its key is blocked' : 'entry dead-lettered',
      ),
    'batch-failed': (e) =>
      logger.warn(
        {
          namespace: e.namespace,
          target: e.target,
          partition: e.partition,
          failures: e.failures,
          retryAt: e.retryAt,
        },
        'batch failed, backing off',
      ),
    'lease-lost': (e) =>
      logger.warn({ ...e, dispatcherId }, 'lease lost: another dispatcher took the partition over'),
    error: (err) => logger.error({ err, dispatcherId }, 'dispatcher error'),
  };
  for (const [event, handler] of Object.entries(on)) dispatcher.on(event as 'error', handler as () => void);
  return () => {
    for (const [event, handler] of Object.entries(on))
      dispatcher.off(event as 'error', handler as () => void);
  };
}

type Handlers = {
  [K in keyof import('../dispatch/dispatcher-events.js').DispatcherEvents]: (
    ...args: import('../dispatch/dispatcher-events.js').DispatcherEvents[K]
  ) => void;
};
