import type { Command } from 'commander';
import type { TargetStatus } from '../../status.js';
import { withWalbox } from '../context.js';
import { positiveInt } from '../parse.js';
import { jobCounts } from './jobs.js';

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description(
      'how far each target is behind: entries not delivered yet, lag of the oldest, parked, blocked, dead letters, failing partitions',
    )
    .option('--namespace <name>', 'only this namespace')
    .option('--partitions', 'one row per partition instead of per target', false)
    .option('--cap <n>', "stop counting a partition's pending entries here", positiveInt, 100_000)
    .addHelpText(
      'after',
      `
Columns: pending = log entries not offered to the target yet ("+" when counting stopped at --cap);
lag = age of the oldest of them; parked = delayed, retrying or queued behind their key; blocked = keys
waiting for an operator (see dead-letters); dead = open dead letters; failing = partitions whose last batch
failed as a whole (the target is down); draining = partitions a dispatcher holds right now.
Exits 0 whatever the lag: use --json and your own threshold for alerts.`,
    )
    .action((o: { namespace?: string; partitions: boolean; cap: number }, cmd: Command) =>
      withWalbox(cmd, async (walbox, out) => {
        const targets = await walbox.status({ namespace: o.namespace, cap: o.cap });
        out.result(targets, (ts) => {
          if (o.partitions) out.table(ts.flatMap(partitionRows));
          else out.table(ts.map(targetRow));
        });
        // Delayed jobs per state, under the targets (`walbox jobs status --json` for machines).
        const jobs = out.json ? [] : await jobCounts(walbox);
        if (jobs.length > 0) {
          out.line();
          out.line('jobs:');
          out.table(jobs);
        }
      }),
    );
}

function targetRow(t: TargetStatus) {
  return {
    namespace: t.namespace,
    target: t.target,
    pending: `${t.pending}${t.capped ? '+' : ''}`,
    lag: t.pending > 0 ? duration(t.lagMs) : '',
    parked: t.parked,
    blocked: t.blocked,
    dead: t.dead,
    failing: `${t.failing}/${t.partitions.length}`,
    draining: `${t.draining}/${t.partitions.length}`,
    delivered: t.delivered,
  };
}

function partitionRows(t: TargetStatus) {
  return t.partitions.map((p) => ({
    namespace: t.namespace,
    target: t.target,
    partition: p.partition,
    pending: `${p.pending}${p.capped ? '+' : ''}`,
    oldest_pending_at: p.oldestPendingAt,
    parked: p.parked,
    blocked: p.blocked,
    dead: p.dead,
    failures: p.failures,
    retry_at: p.retryAt,
    lease_owner: p.leaseOwner,
    delivered: p.delivered,
  }));
}

/** 850 ms, 12.3 s, 4m05s, 3h02m, 2d04h. */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const pad = (n: number) => String(Math.floor(n)).padStart(2, '0');
  if (s < 3600) return `${Math.floor(s / 60)}m${pad(s % 60)}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${pad((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86_400)}d${pad((s % 86_400) / 3600)}h`;
}
