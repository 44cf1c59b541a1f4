import { z } from 'zod';
import { dispatcherConfigSchema } from '../dispatch/dispatcher-config.js';
import type { Sink } from '../dispatch/sink.js';
import { LOG_LEVELS } from '../observability/logger.js';

/** A sink object made by the config module itself (js/mjs/ts configs only). */
const sinkInstance = z.custom<Sink>(
  (v) => typeof v === 'object' && v !== null && typeof (v as Sink).apply === 'function',
  'must be a sink (an object with apply) or { use, options }',
);

/** A sink named by package or module, made by its factory from `options`. */
const sinkSpec = z
  .object({
    /**
     * A package (`@walbox/sink-redis`), resolved from the config file's directory, or a module path relative
     * to it (`./sinks/audit-sink.mjs`).
     */
    use: z.string().min(1),
    /**
     * The export to call with `options` (or the sink object itself). Default: the package's one factory
     * (`createRedisSink` for @walbox/sink-redis), else the default export, else the one `create...Sink` export.
     */
    export: z
      .string()
      .regex(/^[A-Za-z_$][\w$]*$/, 'must be an export name')
      .optional(),
    /** The factory's config; `name` defaults to the target name for the @walbox/sink-* packages. */
    options: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();

export type SinkSpec = z.output<typeof sinkSpec>;

const targetName = z.string().regex(/^[a-z][a-z0-9_.-]{0,62}$/, 'must be a target name (a-z, 0-9, _ . -)');

/** The config file of `walbox dispatch`: one schema, validated once, with defaults applied. */
export const dispatchConfigSchema = z
  .object({
    database: z
      .object({
        /** Postgres URL; default: --database-url or DATABASE_URL (keep passwords out of config files). */
        connectionString: z.string().min(1).optional(),
        /** Connections of the dispatcher's pool. */
        poolMax: z.number().int().min(2).max(1000).default(10),
      })
      .strict()
      .prefault({}),
    /** walbox's schema; default: --schema / WALBOX_SCHEMA, else "walbox". */
    schema: z.string().min(1).optional(),
    /** Target name → the sink that applies its entries. At least one. */
    sinks: z
      .record(targetName, z.union([sinkInstance, sinkSpec]))
      .refine((s) => Object.keys(s).length > 0, 'name at least one sink'),
    /** Dispatcher options (batchSize, concurrency, wakeup, stopTimeoutMs...): see docs/dispatch.md. */
    dispatcher: dispatcherConfigSchema.prefault({}),
    /** Serve Prometheus metrics on this port (0: any free port); none when unset. --metrics-port overrides. */
    metricsPort: z.number().int().min(0).max(65_535).optional(),
    /** The address the metrics server listens on; default all interfaces. */
    metricsHost: z.string().min(1).optional(),
    /** pino level; --log-level overrides. 'info' logs start and stop; problems are warn and error. */
    logLevel: z.enum(LOG_LEVELS).default('info'),
  })
  .strict();

export type DispatchConfigInput = z.input<typeof dispatchConfigSchema>;
export type DispatchConfig = Readonly<z.output<typeof dispatchConfigSchema>>;

/** For js/mjs/ts config files: `export default defineDispatchConfig({ ... })` type-checks the config. */
export function defineDispatchConfig(config: DispatchConfigInput): DispatchConfigInput {
  return config;
}
