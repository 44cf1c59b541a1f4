import type { Command } from 'commander';
import { withWalbox } from '../context.js';
import { positiveInt } from '../parse.js';

interface AuditOptions {
  key?: string;
  namespace?: string;
  actor?: string;
  limit: number;
}

export function registerAudit(program: Command): void {
  program
    .command('audit')
    .description("rows of the <schema>.audit view, with each entry's delivery state per target, oldest first")
    .option('--key <key>', 'the history of one key')
    .option('--namespace <name>')
    .option('--actor <name>', 'changes made by this actor')
    .option('--limit <n>', 'the newest n matching rows', positiveInt, 20)
    .action((o: AuditOptions, cmd: Command) =>
      withWalbox(cmd, async (walbox, out) => {
        const rows = await walbox.audit({
          ...(o.key === undefined ? {} : { key: o.key }),
          ...(o.namespace === undefined ? {} : { namespace: o.namespace }),
          ...(o.actor === undefined ? {} : { actor: o.actor }),
          limit: o.limit,
        });
        out.result(rows, (r) =>
          out.table(r, ['id', 'changed_at', 'actor', 'namespace', 'key', 'op', 'after', 'delivery']),
        );
      }),
    );
}
