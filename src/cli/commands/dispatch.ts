import { type Command, InvalidArgumentError, Option } from 'commander';
import pg from 'pg';
import { createConfigSinks } from '../../dispatch-config/config-sinks.js';
import { DispatchConfigError } from '../../dispatch-config/dispatch-config-error.js';
import {
  findConfigFile,
  type LoadedDispatchConfig,
  loadDispatchConfig,
} from '../../dispatch-config/load-dispatch-config.js';
import { assertMigrated } from '../../dispatch-config/schema-check.js';
import { createLogger, LOG_LEVELS, type LogLevel, logDispatcher } from '../../observability/logger.js';
import { createMetrics } from '../../observability/metrics.js';
import { type MetricsServer, serveMetrics } from '../../observability/metrics-server.js';
import { redactSecrets } from '../../redact.js';
import { Walbox } from '../../walbox.js';
import { globalOptions } from '../context.js';
import { describeError, ExitStatus } from '../errors.js';

interface DispatchOptions {
  config?: string;
  metricsPort?: number;
  logLevel?: LogLevel;
}

/** Exit statuses of `walbox dispatch` (docs/dispatch.md). */
export const DISPATCH_EXIT = {
  stopped: 0,
  failed: 1,
  usage: 2,
  forcedSigint: 130,
  forcedSigterm: 143,
} as const;

export function registerDispatch(program: Command): void {
  program
    .command('dispatch')
    .description('run a dispatcher: deliver the log to the sinks of a config file until SIGTERM or SIGINT')
    .option(
      '-c, --config <file>',
      `config file (.json, .mjs, .js; .ts with a TypeScript loader); default: walbox.config.{json,mjs,js,ts} here`,
    )
    .option(
      '--metrics-port <port>',
      'serve Prometheus metrics at http://0.0.0.0:<port>/metrics (0: any free port)',
      port,
    )
    .addOption(
      new Option('--log-level <level>', "pino log level (default: the config file's, else info)").choices(
        LOG_LEVELS,
      ),
    )
    .addHelpText(
      'after',
      `
Logs are JSON lines on stdout. The first SIGTERM or SIGINT stops gracefully: no new batches, in-flight ones
finish (or are abandoned after dispatcher.stopTimeoutMs, to be delivered again), leases are released.
A second signal exits at once. Exit codes: 0 stopped by a signal, 1 could not start or failed,
2 bad flags or config file, 130/143 forced by a second SIGINT/SIGTERM. See docs/dispatch.md.`,
    )
    .action(async (o: DispatchOptions, cmd: Command) => {
      try {
        await dispatch(o, cmd);
      } finally {
        // A handle left open by a sink or a config module (a client made at import time of a config that then
        // failed validation) would keep the process alive after the end: exit with the status main sets.
        // Unreferenced, the timer itself keeps nothing alive.
        setTimeout(() => process.exit(), 3000).unref();
      }
    });
}

function port(value: string): number {
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65_535)
    throw new InvalidArgumentError('expected a port (0-65535)');
  return Number(value);
}

async function dispatch(o: DispatchOptions, cmd: Command): Promise<void> {
  const g = globalOptions(cmd);
  const loaded = await load(o.config, cmd);
  const { config } = loaded;
  const connectionString = config.database.connectionString ?? g.databaseUrl;
  if (!connectionString) {
    cmd.error(
      `error: no database: set database.connectionString in ${loaded.file}, pass --database-url or set DATABASE_URL`,
      {
        exitCode: DISPATCH_EXIT.usage,
      },
    );
  }
  const schema = config.schema ?? g.schema;
  const logger = createLogger({ level: o.logLevel ?? config.logLevel });
  const sinks = await createConfigSinks(loaded).catch((err) => usage(err));

  const pool = new pg.Pool({
    connectionString,
    max: config.database.poolMax,
    connectionTimeoutMillis: 10_000,
    keepAlive: true,
  });
  pool.on('error', (err) =>
    logger.warn({ err }, 'an idle database connection was lost; the next query reconnects'),
  );
  const walbox = new Walbox({ pool, schema });
  const dispatcher = walbox.dispatcher({ sinks, ...config.dispatcher });
  const detachLog = logDispatcher(dispatcher, logger);
  const metrics = createMetrics({ walbox, dispatchers: [dispatcher] });
  let server: MetricsServer | undefined;
  let stopping = false;

  const stopped = new Promise<NodeJS.Signals>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      if (!stopping) {
        stopping = true;
        logger.info(
          { signal, stopTimeoutMs: dispatcher.config.stopTimeoutMs },
          'stopping: finishing in-flight batches',
        );
        resolve(signal);
        return;
      }
      logger.warn({ signal }, 'second signal: exiting now; in-flight batches are delivered again later');
      process.exit(signal === 'SIGINT' ? DISPATCH_EXIT.forcedSigint : DISPATCH_EXIT.forcedSigterm);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });

  const shutdown = async () => {
    await dispatcher.stop();
    await server?.close();
    metrics.close();
    detachLog();
    await pool.end();
  };

  try {
    const metricsPort = o.metricsPort ?? config.metricsPort;
    if (metricsPort !== undefined) {
      server = await serveMetrics(metrics.registry, {
        port: metricsPort,
        host: config.metricsHost,
        ready: () => !stopping,
      });
    }
    await assertMigrated(pool, schema);
    await dispatcher.start();
  } catch (err) {
    logger.error({ err }, 'dispatcher could not start');
    await shutdown().catch(() => {});
    throw err;
  }
  logger.info(
    {
      schema,
      targets: Object.keys(sinks),
      database: redactSecrets(connectionString),
      config: loaded.file,
      ...(server ? { metrics: server.url } : {}),
    },
    'walbox dispatch running',
  );
  await stopped;
  await shutdown();
  logger.info({}, 'walbox dispatch stopped');
}

async function load(file: string | undefined, cmd: Command): Promise<LoadedDispatchConfig> {
  const chosen = file ?? (await findConfigFile(process.cwd()));
  if (!chosen) {
    cmd.error('error: no config file: pass --config <file> (walbox.config.json, .mjs, .js or .ts)', {
      exitCode: DISPATCH_EXIT.usage,
    });
  }
  return loadDispatchConfig(chosen).catch((err) => usage(err));
}

/** A config file problem: its one line on stderr, and exit status 2 (bad usage). */
function usage(err: unknown): never {
  if (!(err instanceof DispatchConfigError)) throw err;
  process.stderr.write(`${describeError(err)}\n`);
  throw new ExitStatus(DISPATCH_EXIT.usage);
}
