import type { Command } from 'commander';
import { globalOptions } from '../context.js';

/** The demo lives in the workspace package packages/demo: a clone has it after `npm ci`, an install does not. */
const DEMO_PACKAGE = '@walbox/demo';

/** What the CLI calls in the demo package. It hands over its own public API, so that one walbox runs. */
interface DemoModule {
  runDemo(
    api: typeof import('../../index.js'),
    options: { databaseUrl?: string; redis: boolean },
  ): Promise<void>;
}

/** `demoPackage` is for tests: the name of a package that is not there, or that is not the demo. */
export function registerDemo(program: Command, demoPackage = DEMO_PACKAGE): void {
  program
    .command('demo')
    .description(
      'walbox end to end in ~10 s: a throwaway Postgres (unless --database-url / DATABASE_URL), a namespace, a dispatcher, appends, delivery, a secondary-index lookup, an embedded RocksDB replica read back, a delayed job run and one cancelled, audit',
    )
    .option('--no-redis', 'do not deliver to Redis even when one answers (REDIS_URL or 127.0.0.1:6379)')
    .addHelpText(
      'after',
      '\nWith a database URL the demo works in a schema of its own (walbox_demo_<random>) and drops it at the end.\n' +
        `It runs in a clone of the walbox repository after \`npm ci\`: it is the workspace package ${demoPackage},\n` +
        'which the published walbox package does not include.',
    )
    .action(async (o: { redis: boolean }, cmd: Command) => {
      const demo = await loadDemo(demoPackage);
      const g = globalOptions(cmd);
      await demo.runDemo(await import('../../index.js'), {
        ...(g.databaseUrl ? { databaseUrl: g.databaseUrl } : {}),
        redis: o.redis,
      });
    });
}

async function loadDemo(name: string): Promise<DemoModule> {
  let mod: unknown;
  try {
    mod = await import(name); // a variable: the core is built without the demo's types
  } catch (err) {
    const e = err as { code?: unknown; message?: unknown };
    // Node names a missing package in quotes; anything else (say, its dist/ not built) is passed on as is.
    if (e?.code === 'ERR_MODULE_NOT_FOUND' && String(e.message).includes(`'${name}'`))
      throw new Error(
        `the demo is not installed here: run it in a clone of the walbox repository (npm ci && npx walbox demo)`,
      );
    throw new Error(`${name} could not be loaded: ${String(e?.message ?? err).split('\n')[0]}`, {
      cause: err,
    });
  }
  if (typeof (mod as Partial<DemoModule> | undefined)?.runDemo !== 'function')
    throw new Error(`${name} has no runDemo: is it the version of this clone?`);
  return mod as DemoModule;
}
