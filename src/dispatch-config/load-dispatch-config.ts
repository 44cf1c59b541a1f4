import { access, readFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { z } from 'zod';
import { type DispatchConfig, dispatchConfigSchema } from './dispatch-config.js';
import { DispatchConfigError } from './dispatch-config-error.js';

/** Looked for in the current directory, in this order, when no --config is given. */
export const DEFAULT_CONFIG_FILES = [
  'walbox.config.json',
  'walbox.config.mjs',
  'walbox.config.js',
  'walbox.config.ts',
];

const TS = new Set(['.ts', '.mts', '.cts']);
const JS = new Set(['.js', '.mjs', '.cjs']);

export interface LoadedDispatchConfig {
  /** The path as given (or found), for messages. */
  file: string;
  /** Its absolute path: sink modules and packages are resolved from its directory. */
  path: string;
  config: DispatchConfig;
}

/** The first of DEFAULT_CONFIG_FILES in `dir`, or undefined. */
export async function findConfigFile(dir: string): Promise<string | undefined> {
  for (const name of DEFAULT_CONFIG_FILES) {
    if (
      await access(resolve(dir, name)).then(
        () => true,
        () => false,
      )
    )
      return name;
  }
  return undefined;
}

/**
 * Reads and validates a dispatch config file: JSON, or an ES module (js/mjs; ts/mts under a TypeScript
 * loader) whose default export is the config or a function (async or not) returning it. Every problem is a
 * DispatchConfigError naming the file and the field.
 */
export async function loadDispatchConfig(file: string, cwd = process.cwd()): Promise<LoadedDispatchConfig> {
  const path = resolve(cwd, file);
  const ext = extname(path).toLowerCase();
  let raw: unknown;
  if (ext === '.json') raw = await readJson(file, path);
  else if (JS.has(ext) || TS.has(ext)) raw = await importConfig(file, path, TS.has(ext));
  else throw new DispatchConfigError(file, '(file)', 'expected a .json, .mjs, .js or .ts file');
  const result = dispatchConfigSchema.safeParse(raw);
  if (!result.success) {
    const { field, message } = firstIssue(result.error.issues);
    throw new DispatchConfigError(file, field, message, { cause: result.error });
  }
  return { file, path, config: Object.freeze(result.data) };
}

async function readJson(file: string, path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new DispatchConfigError(file, '(file)', cannotRead(err), { cause: err });
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new DispatchConfigError(file, '(file)', `not valid JSON: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

async function importConfig(file: string, path: string, typescript: boolean): Promise<unknown> {
  await access(path).catch((err) => {
    throw new DispatchConfigError(file, '(file)', cannotRead(err), { cause: err });
  });
  let mod: { default?: unknown };
  try {
    mod = await import(pathToFileURL(path).href);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typescript && code === 'ERR_UNKNOWN_FILE_EXTENSION') {
      throw new DispatchConfigError(
        file,
        '(file)',
        'a .ts config needs a TypeScript loader: run with NODE_OPTIONS="--import tsx" (npm i -D tsx), ' +
          'on a Node that strips types (22.18+, or 22.6+ with --experimental-strip-types), or use .mjs',
        { cause: err },
      );
    }
    throw new DispatchConfigError(file, '(file)', `cannot load the module: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const exported = 'default' in mod ? mod.default : mod;
  try {
    return typeof exported === 'function' ? await exported() : exported;
  } catch (err) {
    throw new DispatchConfigError(file, '(default export)', `threw: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

function cannotRead(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES') return 'permission denied';
  return `cannot read it: ${(err as Error).message}`;
}

/**
 * The first issue as field and message. An unknown key is named itself (a typo like "batchSzie"), and a sink
 * that is neither a sink object nor { use, options } reports the problem of its { use, options } reading.
 */
export function firstIssue(
  issues: readonly z.core.$ZodIssue[],
  prefix: PropertyKey[] = [],
): { field: string; message: string } {
  const issue = issues[0]!;
  const path = [...prefix, ...issue.path];
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    const spec = issue.errors[issue.errors.length - 1]!;
    if (spec.length > 0) return firstIssue(spec, path);
  }
  const named = issue.code === 'unrecognized_keys' ? [...path, issue.keys[0]!] : path;
  const message = issue.code === 'unrecognized_keys' ? 'unknown option' : issue.message;
  return { field: named.map(String).join('.') || '(root)', message };
}
