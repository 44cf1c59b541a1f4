import type { Command } from 'commander';
import { withWalbox } from '../context.js';

export function registerRoles(program: Command): void {
  program
    .command('roles')
    .description(
      'print (or with --apply, run) the SQL that creates the producer, dispatcher and auditor roles of --schema and grants their rights',
    )
    .option(
      '--prefix <name>',
      'role names are <prefix>_producer, _dispatcher, _auditor (default: the schema name)',
    )
    .option(
      '--apply',
      'run the statements now, as the connecting role (the schema owner), in one transaction',
      false,
    )
    .addHelpText(
      'after',
      `
The roles are NOLOGIN: grant them to login roles, e.g. "grant walbox_producer to orders_service".
Run it after migrate, and again after an upgrade. docs/security.md says what each role may do.`,
    )
    .action((opts: { prefix?: string; apply: boolean }, cmd: Command) =>
      withWalbox(cmd, async (walbox, out) => {
        const { names, statements } = walbox.roles({ prefix: opts.prefix });
        if (opts.apply) await walbox.createRoles({ prefix: opts.prefix });
        out.result({ schema: walbox.schema, roles: names, applied: opts.apply, statements }, (r) => {
          if (r.applied) {
            out.line(
              `roles of schema "${r.schema}" created and granted: ${Object.values(r.roles).join(', ')}`,
            );
          } else {
            for (const statement of r.statements) out.line(`${statement};`);
          }
        });
      }),
    );
}
