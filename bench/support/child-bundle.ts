import { copyFile, mkdir, rm } from 'node:fs/promises';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface ChildCommand {
  /** Node arguments that run the child script. */
  args: string[];
  /** How, for the report. */
  runtime: string;
}

export interface BundleOptions {
  /** Entry points, relative to the repository root. */
  scripts: string[];
  /** Where the bundles go, relative to the root (git-ignored; packages must resolve from there). */
  outDir: string;
  /** Dynamic imports become chunks loaded on use (the Redis sink, and ioredis, only where it runs). */
  splitting?: boolean;
  /** Empty outDir first, so that a bundle left by an earlier run is never mistaken for this one's. */
  clean?: boolean;
}

/**
 * Child processes as they would be deployed: compiled JavaScript, not TypeScript compiled in-process. The
 * tsx loader alone adds about 45 MiB of resident memory to a process (which would count against a
 * dispatcher's RSS) and over a second to its start (several under load, which a test that restarts processes
 * would measure as walbox's). esbuild (already installed for tsx) bundles the scripts' own code into outDir
 * and leaves packages external, so they load from node_modules as usual. Returns the command of each script
 * in order; tsx when bundling fails or BENCH_CHILD_RUNTIME=tsx.
 */
export async function bundledCommands(options: BundleOptions): Promise<ChildCommand[]> {
  const tsx = options.scripts.map((s) => ({ args: ['--import', 'tsx', s], runtime: 'tsx' }));
  if (process.env.BENCH_CHILD_RUNTIME === 'tsx') return tsx;
  try {
    const { build } = await import('esbuild');
    if (options.clean) await rm(`${ROOT}${options.outDir}`, { recursive: true, force: true });
    await build({
      absWorkingDir: ROOT,
      entryPoints: options.scripts,
      outdir: options.outDir,
      outExtension: { '.js': '.mjs' },
      splitting: options.splitting ?? false,
      bundle: true,
      packages: 'external',
      platform: 'node',
      format: 'esm',
      target: 'node20',
      sourcemap: false,
      logLevel: 'error',
    });
    // The Redis sink reads its Lua script next to its module, which is now in outDir.
    await mkdir(`${ROOT}${options.outDir}`, { recursive: true });
    await copyFile(
      `${ROOT}packages/sink-redis/src/version-guard.lua`,
      `${ROOT}${options.outDir}/version-guard.lua`,
    );
    return options.scripts.map((s) => ({
      args: [`${options.outDir}/${basename(s).replace(/\.ts$/, '.mjs')}`],
      runtime: 'node, esbuild bundle (packages external)',
    }));
  } catch (err) {
    const why = String(err).split('\n')[0];
    return tsx.map((t) => ({ ...t, runtime: `tsx (bundling failed: ${why})` }));
  }
}

/** bench:dispatch's child (bench/support/dispatch-child.ts), bundled. */
export async function childCommand(): Promise<ChildCommand> {
  const [command] = await bundledCommands({
    scripts: ['bench/support/dispatch-child.ts'],
    outDir: '.tmp/bench',
    splitting: true,
  });
  return command!;
}
