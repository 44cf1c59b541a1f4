import { type Command, InvalidArgumentError } from 'commander';
import type { DeadLetterFilter, DeadLetterStatus } from '../../dead-letters.js';
import { withWalbox } from '../context.js';
import { id, list, positiveInt } from '../parse.js';
import { withProgress } from '../progress.js';

const STATUSES: readonly DeadLetterStatus[] = ['dead', 'blocking', 'redriven', 'discarded'];

export function registerDeadLetters(program: Command): void {
  const dl = program
    .command('dead-letters')
    .description(
      'entries whose retries ran out: list them, deliver them again (redrive) or give up (discard)',
    );

  dl.command('list')
    .description('dead letters, oldest entry first (default: the open ones, dead and blocking)')
    .option('--namespace <name>')
    .option('--target <name>')
    .option('--key <key>')
    .option('--status <list>', `comma-separated: ${STATUSES.join(', ')}`, statuses)
    .option('--limit <n>', 'at most this many', positiveInt, 100)
    .action((o: DeadLetterFilter & { limit: number }, cmd: Command) =>
      withWalbox(cmd, async (walbox, out) => {
        const rows = await walbox.deadLetters.list(o);
        out.result(rows, (r) =>
          out.table(
            r.map((d) => ({
              id: d.id,
              entry: d.entryId,
              namespace: d.namespace,
              target: d.target,
              key: d.key,
              status: d.status,
              attempts: d.attempts,
              in_log: d.inLog,
              last_failed_at: d.lastFailedAt,
              last_error: d.lastError,
            })),
          ),
        );
      }),
    );

  for (const [verb, description] of [
    ['redrive', 'deliver open dead letters again, in log order per key'],
    ['discard', 'give up on open dead letters for good (a blocked key moves on)'],
  ] as const) {
    dl.command(verb)
      .description(description)
      .argument('[ids...]', 'dead-letter ids (the id column of `dead-letters list`)', collectIds)
      .option('--namespace <name>', 'instead of ids: the open dead letters of this namespace')
      .option('--target <name>', 'instead of ids: the open dead letters of this target')
      .option('--key <key>', 'instead of ids: the open dead letters of this key')
      .option('--no-progress', 'print no progress on stderr')
      .addHelpText(
        'after',
        `
Give ids, or select with --namespace, --target and --key (together: all of them must match). Many are
${verb === 'redrive' ? 'redriven' : 'discarded'} in chunks in one transaction, with progress on stderr (a live line on a terminal, a line every
5 s otherwise, NDJSON with --json); the result stays on stdout.`,
      )
      .action((selected: string[] | undefined, o: SelectFlags, cmd: Command) =>
        withWalbox(cmd, async (walbox, out) => {
          const ids = selected ?? [];
          const filter: DeadLetterFilter = {
            ...(o.namespace === undefined ? {} : { namespace: o.namespace }),
            ...(o.target === undefined ? {} : { target: o.target }),
            ...(o.key === undefined ? {} : { key: o.key }),
          };
          const filtered = Object.keys(filter).length > 0;
          if (ids.length > 0 === filtered) {
            cmd.error(
              filtered
                ? 'error: give dead-letter ids or --namespace/--target/--key, not both'
                : 'error: give dead-letter ids, or select them with --namespace, --target or --key',
              { exitCode: 2 },
            );
          }
          const past = verb === 'redrive' ? 'redriven' : 'discarded';
          const n = await withProgress(out, `${verb} dead letters`, o.progress, (onProgress) =>
            walbox.deadLetters[verb](filtered ? filter : ids, onProgress ? { onProgress } : {}),
          );
          const selection = filtered ? filter : ids;
          // Redrive leaves open the ones retention took out of the log; say so rather than a bare count.
          const outOfLog = verb === 'redrive' ? await walbox.deadLetters.countOutOfLog(selection) : 0;
          const extra = verb === 'redrive' ? { outOfLog } : {};
          const explain = () => {
            if (outOfLog > 0) out.line(outOfLogLine(outOfLog));
          };
          if (filtered) {
            out.result({ [past]: n, filter, ...extra }, () => {
              out.line(`${past} ${n} open dead letter${n === 1 ? '' : 's'} (${describe(filter)})`);
              explain();
            });
          } else {
            out.result({ [past]: n, requested: ids.length, ...extra }, () => {
              out.line(`${past} ${n} of ${ids.length} (only open dead letters are affected)`);
              explain();
            });
          }
        }),
      );
  }
}

/** Why open dead letters were not redriven, and what the operator can do instead. */
function outOfLogLine(n: number): string {
  const [its, it, copy] = n === 1 ? ['its entry', 'it', 'copy is'] : ['their entries', 'them', 'copies are'];
  return (
    `${n} not redriven: retention dropped ${its} from the log (in_log false), so only the stored ${copy} ` +
    `left (\`walbox dead-letters list --json\`); discard ${it} to close ${it}`
  );
}

interface SelectFlags {
  namespace?: string;
  target?: string;
  key?: string;
  progress: boolean;
}

function describe(filter: DeadLetterFilter): string {
  return (['namespace', 'target', 'key'] as const)
    .filter((f) => filter[f] !== undefined)
    .map((f) => `${f} ${JSON.stringify(filter[f])}`)
    .join(', ');
}

function statuses(value: string): DeadLetterStatus[] {
  const given = list(value);
  const bad = given.find((s) => !STATUSES.includes(s as DeadLetterStatus));
  if (bad !== undefined)
    throw new InvalidArgumentError(`unknown status "${bad}"; use ${STATUSES.join(', ')}`);
  return given as DeadLetterStatus[];
}

function collectIds(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), id(value)];
}
