import { type Command, InvalidArgumentError } from 'commander';
import { toQueryable } from '../../executor.js';
import { countJobs, JOB_STATES, type JobCounts, type JobState } from '../../jobs/job-rows.js';
import { quoteIdent } from '../../names.js';
import type { Walbox } from '../../walbox.js';
import { withWalbox } from '../context.js';
import { id, list, positiveInt } from '../parse.js';

export function registerJobs(program: Command): void {
  const jobs = program
    .command('jobs')
    .description('delayed jobs (walbox.jobs(queue)): list them, count them per state, cancel one');

  jobs
    .command('list')
    .description('jobs of one queue, earliest run_at first (default: every state)')
    .requiredOption('--queue <name>', 'the queue')
    .option(
      '--due-before <time>',
      'only jobs due before this: an ISO time, or from now: 90s, 15m, 2h, 7d',
      dueBefore,
    )
    .option('--state <list>', `comma-separated: ${JOB_STATES.join(', ')}`, states)
    .option('--limit <n>', 'at most this many', positiveInt, 100)
    .action((o: { queue: string; dueBefore?: Date; state?: JobState[]; limit: number }, cmd: Command) =>
      withWalbox(cmd, async (walbox, out) => {
        const rows = await walbox
          .jobs(o.queue)
          .list({ dueBefore: o.dueBefore, states: o.state, limit: o.limit });
        out.result(rows, (r) =>
          out.table(
            r.map((j) => ({
              id: j.id,
              state: j.state,
              run_at: j.runAt,
              key: j.key,
              generation: j.generation,
              attempts: j.attempts,
              payload: j.payload,
              last_error: j.lastError,
            })),
          ),
        );
      }),
    );

  jobs
    .command('status')
    .description('jobs per state, per queue (overdue: scheduled and due, not started yet)')
    .option('--queue <name>', 'only this queue')
    .action((o: { queue?: string }, cmd: Command) =>
      withWalbox(cmd, async (walbox, out) => {
        const counts = await jobCounts(walbox, o.queue);
        out.result(counts, (c) => out.table(c));
      }),
    );

  jobs
    .command('cancel')
    .description('cancel a scheduled (or failed, awaiting a retry) job; exits 0 either way and says which')
    .requiredOption('--queue <name>', 'the queue')
    .argument('<id>', 'the job id', id)
    .action((jobId: string, o: { queue: string }, cmd: Command) =>
      withWalbox(cmd, async (walbox, out) => {
        const cancelled = await walbox.jobs(o.queue).cancel(walbox.pool, jobId);
        out.result({ id: jobId, cancelled }, () =>
          out.line(
            cancelled
              ? `cancelled job ${jobId}`
              : `job ${jobId} was not scheduled (unknown, running, done or cancelled)`,
          ),
        );
      }),
    );
}

/** Counts per state of every queue; none when the schema predates the jobs table. */
export async function jobCounts(walbox: Walbox, queue?: string): Promise<JobCounts[]> {
  const schema = quoteIdent('schema', walbox.schema);
  const { rows } = await walbox.pool.query<{ t: string | null }>('select to_regclass($1) as t', [
    `${schema}.jobs`,
  ]);
  if (!rows[0]?.t) return [];
  return countJobs(toQueryable(walbox.pool), schema, queue);
}

function states(value: string): JobState[] {
  const given = list(value);
  const bad = given.find((s) => !JOB_STATES.includes(s as JobState));
  if (bad !== undefined)
    throw new InvalidArgumentError(`unknown state "${bad}"; use ${JOB_STATES.join(', ')}`);
  return given as JobState[];
}

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** An ISO time, or a duration from now ("15m"). */
function dueBefore(value: string): Date {
  const relative = /^(\d+)([smhd])$/.exec(value.trim());
  if (relative) return new Date(Date.now() + Number(relative[1]) * UNITS[relative[2]!]!);
  const at = new Date(value);
  if (Number.isNaN(at.getTime()))
    throw new InvalidArgumentError('expected an ISO time or a duration such as 15m');
  return at;
}
