import { type Command, InvalidArgumentError } from 'commander';
import type { Entry } from '../../entry.js';
import { LogTail } from '../../observability/log-tail.js';
import { escapeControl } from '../../observability/terminal-text.js';
import { withWalbox } from '../context.js';
import { positiveInt } from '../parse.js';
import { sleep, untilSignal } from '../signals.js';

interface TailOptions {
  namespace: string;
  key?: string;
  follow: boolean;
  lines: number;
  interval: number;
  full: boolean;
}

const PAYLOAD_CHARS = 300;

export function registerTail(program: Command): void {
  program
    .command('tail')
    .description(
      'the log of a namespace as it commits, like tail -f: the newest entries, then (--follow) each new one',
    )
    .requiredOption('--namespace <name>', 'the namespace')
    .option('--key <key>', 'only the entries of this key')
    .option('-f, --follow', 'keep printing entries as they commit, until SIGINT or SIGTERM', false)
    .option('-n, --lines <n>', 'how many of the newest entries to print first (0: none)', nonNegativeInt, 10)
    .option('--interval <ms>', 'with --follow, how often to look for new entries', positiveInt, 500)
    .option('--full', `print whole payloads (default: cut at ${PAYLOAD_CHARS} characters)`, false)
    .addHelpText(
      'after',
      `
Human output: one line per entry, "created_at  id  key  op  payload" (partition and actor with --json),
with control characters of keys and payloads shown escaped (\\x1b), never sent to the terminal.
--json: one JSON object per entry per line (NDJSON), every field of the entry.
Entries come in commit order per partition: one whose transaction committed late is printed when it commits.`,
    )
    .action((o: TailOptions, cmd: Command) =>
      withWalbox(cmd, async (walbox, out) => {
        const tail = new LogTail(walbox, o.namespace, o.key);
        const print = (entries: Entry[]) => {
          for (const e of entries) out.line(out.json ? JSON.stringify(e) : humanLine(e, o.full));
        };
        print(await tail.start(o.lines));
        if (!o.follow) return;
        await untilSignal(async (stopped) => {
          while (!stopped.aborted) {
            const entries = await tail.poll();
            print(entries);
            if (entries.length === 0) await sleep(o.interval, stopped);
          }
        });
      }),
    );
}

/** `2026-11-30T14:50:25.123Z  42  u1  upsert  {"name":"Ada"}`, safe to print on a terminal. */
export function humanLine(e: Entry, full = false): string {
  let payload = e.op === 'delete' && e.payload === null ? '' : (JSON.stringify(e.payload) ?? '');
  if (!full && payload.length > PAYLOAD_CHARS) payload = `${payload.slice(0, PAYLOAD_CHARS - 1)}…`;
  const created = e.createdAt instanceof Date ? e.createdAt.toISOString() : String(e.createdAt);
  return [created, e.id, JSON.stringify(e.key), e.op, payload].map((v) => escapeControl(v)).join('  ');
}

function nonNegativeInt(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected 0 or a positive integer');
  return Number(value);
}
