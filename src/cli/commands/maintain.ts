import type { Command } from 'commander';
import { withWalbox } from '../context.js';

export function registerMaintain(program: Command): void {
  program
    .command('maintain')
    .description(
      'create the coming days’ log partitions and drop expired, fully delivered ones (dispatchers also do this on a schedule)',
    )
    .action((_opts, cmd: Command) =>
      withWalbox(cmd, async (walbox, out) => {
        const result = await walbox.maintain();
        out.result(result, (r) => {
          out.line(`day partitions created: ${r.created}`);
          out.line(`day partitions dropped: ${r.dropped.length === 0 ? 'none' : r.dropped.join(', ')}`);
          out.line(`key lock rows pruned: ${r.keyLocksPruned}`);
        });
      }),
    );
}
