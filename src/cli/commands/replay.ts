import type { Command } from 'commander';
import { withWalbox } from '../context.js';
import { id, ids } from '../parse.js';

interface ReplayFlags {
  namespace: string;
  target: string;
  from: string;
  to?: string;
  exclude?: string[];
}

export function registerReplay(program: Command): void {
  program
    .command('replay')
    .description(
      're-deliver a range of the log to one target, in order per key (e.g. after restoring the store from a backup)',
    )
    .requiredOption('--namespace <name>')
    .requiredOption('--target <name>')
    .requiredOption('--from <id>', 'first entry id (inclusive)', id)
    .option('--to <id>', 'last entry id (inclusive; default: the newest)', id)
    .option('--exclude <ids>', 'entry ids to leave out, comma-separated (repeatable)', ids)
    .action((o: ReplayFlags, cmd: Command) =>
      withWalbox(cmd, async (walbox, out) => {
        const queued = await walbox.replay({
          namespace: o.namespace,
          target: o.target,
          from: o.from,
          ...(o.to === undefined ? {} : { to: o.to }),
          ...(o.exclude === undefined ? {} : { exclude: o.exclude }),
        });
        out.result({ queued }, (r) =>
          out.line(
            `queued ${r.queued} entr${r.queued === 1 ? 'y' : 'ies'} of ${o.namespace} for target ${o.target}; a running dispatcher delivers them`,
          ),
        );
      }),
    );
}
