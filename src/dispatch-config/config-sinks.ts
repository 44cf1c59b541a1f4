import { createRequire } from 'node:module';
import { dirname, isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Sink } from '../dispatch/sink.js';
import type { DispatchConfig, SinkSpec } from './dispatch-config.js';
import { DispatchConfigError } from './dispatch-config-error.js';

/** The factory of each shipped sink package (a package with several takes `export` to pick another). */
const SHIPPED_FACTORIES: Readonly<Record<string, string>> = {
  '@walbox/sink-redis': 'createRedisSink',
  '@walbox/sink-memcached': 'createMemcachedSink',
  '@walbox/sink-postgres': 'createPostgresSink',
  '@walbox/sink-rocksdb': 'createRocksdbSink',
  '@walbox/sink-nats': 'createNatsSink',
  '@walbox/sink-rabbitmq': 'createRabbitmqSink',
};

/**
 * The sinks of a loaded config, keyed by target: sink objects as given, specs made by their package's or
 * module's factory. A factory's config error names its field under `sinks.<target>.options`. If one sink
 * cannot be made, those made before it are closed (their connections would keep the process alive).
 */
export async function createConfigSinks(loaded: {
  file: string;
  path: string;
  config: DispatchConfig;
}): Promise<Record<string, Sink>> {
  const sinks: Record<string, Sink> = {};
  try {
    for (const [target, value] of Object.entries(loaded.config.sinks)) {
      sinks[target] = isSink(value) ? value : await fromSpec(loaded.file, loaded.path, target, value);
    }
    return sinks;
  } catch (err) {
    await Promise.all(Object.values(sinks).map((s) => s.close?.().catch(() => {})));
    throw err;
  }
}

async function fromSpec(file: string, configPath: string, target: string, spec: SinkSpec): Promise<Sink> {
  const fail = (field: string, message: string, cause?: unknown) =>
    new DispatchConfigError(file, `sinks.${target}${field}`, message, { cause });
  const mod = await importSink(spec.use, configPath).catch((err) => {
    throw fail('.use', (err as Error).message, err);
  });
  const name = spec.export ?? SHIPPED_FACTORIES[spec.use] ?? defaultExport(mod);
  if (name === undefined) {
    throw fail(
      '.export',
      `"${spec.use}" has no default export nor one create...Sink export: name the export`,
    );
  }
  const exported = mod[name];
  if (exported === undefined) throw fail('.export', `"${spec.use}" exports no "${name}"`);
  let sink: unknown;
  if (typeof exported === 'function') {
    const options =
      spec.use.startsWith('@walbox/sink-') && spec.options.name === undefined
        ? { name: target, ...spec.options }
        : spec.options;
    try {
      sink = await exported(options);
    } catch (err) {
      const e = err as { field?: unknown; code?: unknown; message?: string };
      if (typeof e.field === 'string' && e.code === 'INVALID_CONFIG') {
        // SinkConfigError: "invalid redis sink config: url: must start with..." → the part after the field.
        const message = String(e.message);
        const at = message.indexOf(`${e.field}: `);
        throw fail(`.options.${e.field}`, at >= 0 ? message.slice(at + e.field.length + 2) : message, err);
      }
      throw fail('', `${name}() failed: ${e.message ?? String(err)}`, err);
    }
  } else sink = exported;
  if (!isSink(sink)) throw fail('', `${spec.use}'s ${name} did not make a sink (an object with apply)`);
  return sink;
}

function isSink(value: unknown): value is Sink {
  return typeof value === 'object' && value !== null && typeof (value as Sink).apply === 'function';
}

function defaultExport(mod: Record<string, unknown>): string | undefined {
  if (mod.default !== undefined) return 'default';
  const factories = Object.keys(mod).filter((k) => /^create\w*Sink$/.test(k));
  return factories.length === 1 ? factories[0] : undefined;
}

/**
 * A module path (./x.mjs, /abs/x.js, file:...) relative to the config file; a package name resolved from the
 * config file's directory (the user's project), else from walbox's own.
 */
async function importSink(use: string, configPath: string): Promise<Record<string, unknown>> {
  if (use.startsWith('.') || isAbsolute(use)) {
    return import(pathToFileURL(resolve(dirname(configPath), use)).href);
  }
  if (use.startsWith('file:')) return import(use);
  let resolved: string | undefined;
  try {
    resolved = createRequire(configPath).resolve(use);
  } catch {
    // Not installed beside the config (or exported for import only): try from walbox's own location.
  }
  try {
    return await import(resolved ? pathToFileURL(resolved).href : use);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' && !resolved && String((err as Error).message).includes(`'${use}'`)) {
      throw new Error(`cannot find package "${use}" from ${dirname(configPath)}: npm install ${use}`, {
        cause: err,
      });
    }
    throw new Error(`cannot load "${use}": ${(err as Error).message}`, { cause: err });
  }
}
