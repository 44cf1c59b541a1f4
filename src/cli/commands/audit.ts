import type { Command } from 'commander';
import { quoteIdent } from '../../names.js';
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
        const { rows } = await walbox.pool.query(
          `select * from (
             select * from ${quoteIdent('schema', walbox.schema)}.audit
              where ($1::text is null or key = $1) and ($2::text is null or namespace = $2)
                and ($3::text is null or actor = $3)
              order by id desc limit $4) newest
            order by id`,
          [o.key ?? null, o.namespace ?? null, o.actor ?? null, o.limit],
        );
        out.result(rows, (r) =>
          out.table(r, ['id', 'changed_at', 'actor', 'namespace', 'key', 'op', 'after', 'delivery']),
        );
      }),
    );
}
