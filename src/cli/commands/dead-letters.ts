import { type Command, InvalidArgumentError } from 'commander';
import type { DeadLetterFilter, DeadLetterStatus } from '../../dead-letters.js';
import { withWalbox } from '../context.js';
import { id, list, positiveInt } from '../parse.js';

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
      .argument('<ids...>', 'dead-letter ids (the id column of `dead-letters list`)', collectIds)
      .action((selected: string[], _opts, cmd: Command) =>
        withWalbox(cmd, async (walbox, out) => {
          const n = await walbox.deadLetters[verb](selected);
          const past = verb === 'redrive' ? 'redriven' : 'discarded';
          out.result({ [past]: n, requested: selected.length }, () =>
            out.line(`${past} ${n} of ${selected.length} (only open dead letters are affected)`),
          );
        }),
      );
  }
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
