import type { Command } from 'commander';
import { withWalbox } from '../context.js';
import { id, ids } from '../parse.js';
import { withProgress } from '../progress.js';
import { transactionId } from './mutation.js';

interface ReplayFlags {
  namespace?: string;
  target?: string;
  from?: string;
  transaction?: string;
  to?: string;
  exclude?: string[];
  progress: boolean;
}

export function registerReplay(program: Command): void {
  program
    .command('replay')
    .description(
      're-deliver a range of the log to one target, in order per key (e.g. after restoring the store from a backup), or one user mutation',
    )
    .option('--namespace <name>', 'the namespace of the range')
    .option('--target <name>', 'the target (required for a range; for --transaction: only this one)')
    .option('--from <id>', 'first entry id (inclusive)', id)
    .option('--to <id>', 'last entry id (inclusive; default: the newest)', id)
    .option('--exclude <ids>', 'entry ids to leave out, comma-separated (repeatable)', ids)
    .option(
      '--transaction <id>',
      'instead of a range: every entry of this source transaction (one user mutation), to each of its targets',
      transactionId,
    )
    .option('--no-progress', 'print no progress of a range on stderr')
    .addHelpText(
      'after',
      `
A range: --namespace, --target and --from are required. A mutation: --transaction alone (every target of each
entry) or with --target; see \`walbox mutation <id>\` for where it stands.
A range is queued in one transaction; its progress (entries gone through of the range, rate) goes to stderr:
a live line on a terminal, a line every 5 s otherwise, NDJSON with --json. The result stays on stdout.`,
    )
    .action((o: ReplayFlags, cmd: Command) =>
      withWalbox(cmd, async (walbox, out) => {
        if (o.transaction !== undefined) {
          if (
            o.namespace !== undefined ||
            o.from !== undefined ||
            o.to !== undefined ||
            o.exclude !== undefined
          ) {
            cmd.error('error: --transaction takes no --namespace, --from, --to or --exclude', {
              exitCode: 2,
            });
          }
          const queued = await walbox.replay({
            transactionId: o.transaction,
            ...(o.target === undefined ? {} : { target: o.target }),
          });
          return out.result({ queued }, (r) =>
            out.line(
              `queued ${r.queued} (entry, target) pair${r.queued === 1 ? '' : 's'} of transaction ${o.transaction}; a running dispatcher delivers them`,
            ),
          );
        }
        if (o.namespace === undefined || o.target === undefined || o.from === undefined) {
          cmd.error('error: a range needs --namespace, --target and --from (or give --transaction)', {
            exitCode: 2,
          });
        }
        const { namespace, target, from } = o;
        const queued = await withProgress(out, `replay ${namespace} → ${target}`, o.progress, (onProgress) =>
          walbox.replay({
            namespace,
            target,
            from,
            ...(o.to === undefined ? {} : { to: o.to }),
            ...(o.exclude === undefined ? {} : { exclude: o.exclude }),
            ...(onProgress === undefined ? {} : { onProgress }),
          }),
        );
        out.result({ queued }, (r) =>
          out.line(
            `queued ${r.queued} entr${r.queued === 1 ? 'y' : 'ies'} of ${o.namespace} for target ${o.target}; a running dispatcher delivers them`,
          ),
        );
      }),
    );
}
