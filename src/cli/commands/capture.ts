import type { Command } from 'commander';
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
    .action((table: string, o: { namespace: string; keyColumn: string }, cmd: Command) =>
      withWalbox(cmd, async (walbox, out) => {
        await walbox.captureTable(table, { namespace: o.namespace, keyColumn: o.keyColumn });
        out.result({ table, namespace: o.namespace, keyColumn: o.keyColumn, capturing: true }, (r) =>
          out.line(`capturing ${r.table} into namespace "${r.namespace}" (key column ${r.keyColumn})`),
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
