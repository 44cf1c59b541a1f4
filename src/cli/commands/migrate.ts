import type { Command } from 'commander';
import { withWalbox } from '../context.js';

export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description("create or upgrade walbox's tables in --schema (safe to run concurrently and repeatedly)")
    .action((_opts, cmd: Command) =>
      withWalbox(cmd, async (walbox, out) => {
        const result = await walbox.migrate();
        out.result({ schema: walbox.schema, ...result }, (r) => {
          if (r.applied.length === 0) out.line(`schema "${r.schema}" is up to date (version ${r.current})`);
          else out.line(`migrated schema "${r.schema}" to version ${r.current}: ${r.applied.join(', ')}`);
        });
      }),
    );
}
