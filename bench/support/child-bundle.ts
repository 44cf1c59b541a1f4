import { copyFile, mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SCRIPT = 'bench/support/dispatch-child.ts';
const OUT_DIR = '.tmp/bench';

export interface ChildCommand {
  /** Node arguments that run the child script. */
  args: string[];
  /** How, for the report. */
  runtime: string;
}

/**
 * The dispatch child as it would be deployed: compiled JavaScript, not TypeScript compiled in-process. The
 * tsx loader alone adds about 45 MiB of resident memory to a process, which would count against the
 * dispatcher's RSS. esbuild (already installed for tsx) bundles the child's own code into .tmp/bench/ and
 * leaves packages external, so they load from node_modules as usual. Falls back to tsx when bundling fails
 * or BENCH_CHILD_RUNTIME=tsx.
 */
export async function childCommand(): Promise<ChildCommand> {
  const tsx: ChildCommand = { args: ['--import', 'tsx', SCRIPT], runtime: 'tsx' };
  if (process.env.BENCH_CHILD_RUNTIME === 'tsx') return tsx;
  try {
    const { build } = await import('esbuild');
    await build({
      absWorkingDir: ROOT,
      entryPoints: [SCRIPT],
      outdir: OUT_DIR,
      outExtension: { '.js': '.mjs' },
      // Dynamic imports become chunks loaded on use: the Redis sink (and ioredis) only where it runs.
      splitting: true,
      bundle: true,
      packages: 'external',
      platform: 'node',
      format: 'esm',
      target: 'node20',
      sourcemap: false,
      logLevel: 'error',
    });
    // The Redis sink reads its Lua script next to its module, which is now a chunk in OUT_DIR.
    await mkdir(`${ROOT}${OUT_DIR}`, { recursive: true });
    await copyFile(`${ROOT}packages/sink-redis/src/version-guard.lua`, `${ROOT}${OUT_DIR}/version-guard.lua`);
    return {
      args: [`${OUT_DIR}/dispatch-child.mjs`],
      runtime: 'node, esbuild bundle of the child (packages external)',
    };
  } catch (err) {
    return { ...tsx, runtime: `tsx (bundling failed: ${String(err).split('\n')[0]})` };
  }
}
