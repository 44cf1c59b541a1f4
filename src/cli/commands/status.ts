import type { Command } from 'commander';
import { Progress, type ProgressDetail } from '../../observability/progress.js';
import type { TargetStatus } from '../../status.js';
import { withWalbox } from '../context.js';
import type { Output } from '../output.js';
import { positiveInt } from '../parse.js';
import { sleep, untilSignal } from '../signals.js';
import { jobCounts } from './jobs.js';

interface StatusFlags {
  namespace?: string;
  partitions: boolean;
  cap: number;
  watch: boolean;
  interval: number;
  untilDrained: boolean;
}

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description(
      'how far each target is behind: entries not delivered yet, lag of the oldest, parked, blocked, dead letters, failing partitions',
    )
    .option('--namespace <name>', 'only this namespace')
    .option('--partitions', 'one row per partition instead of per target', false)
    .option('--cap <n>', "stop counting a partition's pending entries here", positiveInt, 100_000)
    .option(
      '--watch',
      'read it again every --interval ms, with a live line on stderr, until SIGINT or SIGTERM',
      false,
    )
    .option('--interval <ms>', 'with --watch, how often to read it', positiveInt, 2000)
    .option('--until-drained', 'watch until nothing is pending or parked for any target, then exit 0', false)
    .addHelpText(
      'after',
      `
Columns: pending = log entries not offered to the target yet ("+" when counting stopped at --cap);
lag = age of the oldest of them; parked = delayed, retrying or queued behind their key; blocked = keys
waiting for an operator (see dead-letters); dead = open dead letters; failing = partitions whose last batch
failed as a whole (the target is down); draining = partitions a dispatcher holds right now.
Exits 0 whatever the lag: use --json and your own threshold for alerts.
--watch: on stderr, entries delivered since it started, the rate of drain, and pending (with lag) per target:
a live line on a terminal, a line per reading otherwise, NDJSON with --json. When it stops, the last reading
is printed on stdout as without --watch.`,
    )
    .action((o: StatusFlags, cmd: Command) =>
      withWalbox(cmd, async (walbox, out) => {
        const read = () => walbox.status({ namespace: o.namespace, cap: o.cap });
        const targets = o.watch || o.untilDrained ? await watch(read, out, o) : await read();
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

/** Reads the status every `interval` ms and draws the drain on stderr; returns the last reading. */
async function watch(read: () => Promise<TargetStatus[]>, out: Output, o: StatusFlags) {
  return untilSignal(async (stopped) => {
    let targets = await read();
    const start = delivered(targets);
    const progress = new Progress({ label: 'delivered', json: out.json, intervalMs: 0 });
    try {
      for (;;) {
        const done = Math.max(0, delivered(targets) - start);
        if (stopped.aborted || (o.untilDrained && targets.every((t) => t.pending === 0 && t.parked === 0))) {
          progress.finish(done, drainDetail(targets));
          return targets;
        }
        progress.update(done, drainDetail(targets));
        await sleep(o.interval, stopped);
        if (!stopped.aborted) targets = await read();
      }
    } catch (err) {
      progress.abandon();
      throw err;
    }
  });
}

function delivered(targets: TargetStatus[]): number {
  return targets.reduce((n, t) => n + t.delivered, 0);
}

/** `pending 1,342  users/cache 1,342 lag 41.5 s  users/search 0`, and the same figures for NDJSON. */
function drainDetail(targets: TargetStatus[]): ProgressDetail {
  const pending = targets.reduce((n, t) => n + t.pending, 0);
  const perTarget = targets.map((t) => {
    const lag = t.pending > 0 ? ` lag ${duration(t.lagMs)}` : '';
    return `${t.namespace}/${t.target} ${t.pending.toLocaleString('en-US')}${t.capped ? '+' : ''}${lag}`;
  });
  return {
    text: [`pending ${pending.toLocaleString('en-US')}`, ...perTarget].join('  '),
    fields: {
      pending,
      targets: targets.map((t) => ({
        namespace: t.namespace,
        target: t.target,
        pending: t.pending,
        capped: t.capped,
        lagMs: t.lagMs,
        parked: t.parked,
      })),
    },
  };
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
