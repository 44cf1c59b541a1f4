import { type Command, InvalidArgumentError } from 'commander';
import { withWalbox } from '../context.js';

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
    .action(
      (
        table: string,
        o: { namespace: string; keyColumn: string; backfill: boolean; chunkSize: number },
        cmd: Command,
      ) =>
        withWalbox(cmd, async (walbox, out) => {
          const progress = o.backfill
            ? await walbox.captureTable(table, {
                namespace: o.namespace,
                keyColumn: o.keyColumn,
                backfill: {
                  chunkSize: o.chunkSize,
                  onProgress: (p) => {
                    // Progress goes to stderr, so that --json keeps one document on stdout.
                    if (process.stderr.isTTY) {
                      process.stderr.write(
                        `\rbackfill: ${p.rowsDone} of ~${p.rowsTotal} rows${p.done ? '\n' : ''}`,
                      );
                    }
                  },
                },
              })
            : await walbox.captureTable(table, { namespace: o.namespace, keyColumn: o.keyColumn });
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
