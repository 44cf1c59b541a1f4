import { type Command, InvalidArgumentError } from 'commander';
import { withWalbox } from '../context.js';
import { withProgress } from '../progress.js';

export function registerCapture(program: Command): void {
  program
    .command('capture')
    .description(
      'install a trigger that appends every INSERT/UPDATE/DELETE of a table, with before and after images',
    )
    .argument('<table>', '"table" or "schema.table"')
    .requiredOption('--namespace <name>', 'the namespace the changes go to (must exist)')
    .requiredOption(
      '--key-column <column>',
      'the column whose value is the entry key (usually the primary key)',
    )
    .option(
      '--backfill',
      'then append the rows the table already holds, in committed chunks (resumes where a crashed run stopped)',
      false,
    )
    .option('--chunk-size <rows>', 'rows per backfill chunk (1-100000)', parseRows, 1000)
    .option('--no-progress', 'print no backfill progress on stderr')
    .addHelpText(
      'after',
      `
Backfill progress (rows appended of those the table held at the start, rate) goes to stderr: a live line on a
terminal, a line every 5 s otherwise, NDJSON with --json. The result stays on stdout.`,
    )
    .action(
      (
        table: string,
        o: {
          namespace: string;
          keyColumn: string;
          backfill: boolean;
          chunkSize: number;
          progress: boolean;
        },
        cmd: Command,
      ) =>
        withWalbox(cmd, async (walbox, out) => {
          const target = { namespace: o.namespace, keyColumn: o.keyColumn };
          const progress = o.backfill
            ? await withProgress(out, `backfill ${table}`, o.progress, (onProgress) =>
                walbox.captureTable(table, {
                  ...target,
                  backfill: {
                    chunkSize: o.chunkSize,
                    ...(onProgress === undefined
                      ? {}
                      : { onProgress: (p) => onProgress(p.rowsDone, p.rowsTotal) }),
                  },
                }),
              )
            : await walbox.captureTable(table, target);
          out.result(
            {
              table,
              namespace: o.namespace,
              keyColumn: o.keyColumn,
              capturing: true,
              backfill: progress ? { rowsDone: progress.rowsDone, rowsTotal: progress.rowsTotal } : null,
            },
            (r) => {
              out.line(`capturing ${r.table} into namespace "${r.namespace}" (key column ${r.keyColumn})`);
              if (r.backfill) out.line(`backfilled ${r.backfill.rowsDone} existing rows`);
            },
          );
        }),
    );

  program
    .command('uncapture')
    .description('remove the capture trigger from a table (the log keeps what it captured)')
    .argument('<table>', '"table" or "schema.table"')
    .action((table: string, _opts, cmd: Command) =>
      withWalbox(cmd, async (walbox, out) => {
        await walbox.uncaptureTable(table);
        out.result({ table, capturing: false }, (r) => out.line(`${r.table} is not captured (any more)`));
      }),
    );
}

function parseRows(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 100_000) {
    throw new InvalidArgumentError('expected a whole number of rows from 1 to 100000');
  }
  return n;
}
