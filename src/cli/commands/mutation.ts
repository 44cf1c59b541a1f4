import { type Command, InvalidArgumentError } from 'commander';
import type { MutationStatus } from '../../mutations.js';
import { withWalbox } from '../context.js';
import { ExitStatus } from '../errors.js';
import { ids } from '../parse.js';

/** A source transaction's id (xid8): digits. */
export function transactionId(value: string): string {
  if (!/^\d{1,20}$/.test(value)) throw new InvalidArgumentError('expected a transaction id (digits)');
  return value;
}

export function registerMutation(program: Command): void {
  program
    .command('mutation')
    .description('did one user mutation (a source transaction) reach every store? each entry at each target')
    .argument('[transaction-id]', 'the source transaction (transaction_id in the audit view)', transactionId)
    .option('--entries <ids>', 'or: entry ids of the mutation, comma-separated (repeatable)', ids)
    .option('--exit-code', 'exit 3 when the mutation is not complete (for scripts)', false)
    .addHelpText(
      'after',
      `
States: applied = the target has it; pending = not offered yet, delayed, or queued behind its key or by a
replay; retrying = failed, waiting for its next attempt (attempts, next attempt shown); dead = dead-lettered
(see dead-letters: redrive or discard it). The mutation is complete once every part is applied.
Re-apply one mutation with: walbox replay --transaction <id> [--target <name>]`,
    )
    .action((xid: string | undefined, o: { entries?: string[]; exitCode: boolean }, cmd: Command) =>
      withWalbox(cmd, async (walbox, out) => {
        if ((xid === undefined) === (o.entries === undefined)) {
          cmd.error('error: give a transaction id or --entries, one of the two', { exitCode: 2 });
        }
        const status = await walbox.mutations.status(xid ?? { entryIds: o.entries! });
        out.result(status, (m) => {
          out.line(summary(m));
          if (m.parts.length > 0) out.table(m.parts.map(partRow));
        });
        if (o.exitCode && !status.complete) throw new ExitStatus(3);
      }),
    );
}

function summary(m: MutationStatus): string {
  if (!m.found) return 'no entry of this mutation is in the log (a wrong id, or dropped by retention)';
  const c = m.counts;
  const state = m.complete ? 'complete' : 'incomplete';
  return `transaction ${m.transactionId ?? '(several)'}: ${state}: ${c.applied} applied, ${c.pending} pending, ${c.retrying} retrying, ${c.dead} dead`;
}

function partRow(p: MutationStatus['parts'][number]) {
  return {
    entry: p.entryId,
    namespace: p.namespace,
    key: p.key,
    op: p.op,
    target: p.target,
    state: p.state,
    attempts: p.attempts || '',
    next_attempt_at: p.nextAttemptAt ?? '',
    last_error: p.lastError ?? '',
  };
}
