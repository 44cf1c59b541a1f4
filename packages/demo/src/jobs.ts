import type pg from 'pg';
import type { JobQueue, Sink, Walbox } from 'walbox';

type Say = (text?: string) => void;

interface Email {
  template: string;
  to: string;
}

export interface DemoJobs {
  queue: JobQueue;
  /** The queue's job sink: the dispatcher's sink for target `queue.namespace`. */
  sink: Sink;
  /** When each job ran (Date.now()), by job id. */
  ran: Map<string, number>;
}

/** A delayed-job queue, "emails", whose job sink prints each job it runs. */
export async function openDemoJobs(walbox: Walbox, say: Say, stamp: () => string): Promise<DemoJobs> {
  const queue = walbox.jobs('emails', { partitions: 1 });
  await queue.ensure();
  const ran = new Map<string, number>();
  const sink = queue.sink<Email>((job) => {
    ran.set(job.id, Date.now());
    say(`      ${stamp()}  job   ← job ${job.id}: ${job.payload.template} email to ${job.payload.to}`);
  });
  say(
    `   job    queue "emails" (walbox.jobs): namespace and target ${queue.namespace}; its job sink prints each job it runs`,
  );
  return { queue, sink, ran };
}

/** Two jobs scheduled in one transaction; one of them cancelled in a second one. */
export async function scheduleDemoJobs(
  jobs: DemoJobs,
  pool: pg.Pool,
  say: Say,
): Promise<{ welcome: string; reminder: string }> {
  say('   G  jobs: begin; schedule a welcome email to carol and a reminder to erin, both in 1.5 s; commit');
  const client = await pool.connect();
  let ids: string[];
  try {
    await client.query('begin');
    const scheduled = await jobs.queue.scheduleMany(client, [
      { payload: { template: 'welcome', to: 'carol' } satisfies Email, delay: { ms: 1500 } },
      { payload: { template: 'reminder', to: 'erin' } satisfies Email, delay: { ms: 1500 } },
    ]);
    await client.query('commit');
    ids = scheduled.map((s) => s.id);
  } catch (err) {
    await client.query('rollback').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
  const [welcome, reminder] = ids as [string, string];
  say(
    `      → jobs ${welcome} and ${reminder}: a row each in the jobs table, an entry each in ${jobs.queue.namespace}`,
  );
  say(`      then, in a transaction of its own: cancel job ${reminder}`);
  const cancelled = await jobs.queue.cancel(pool, reminder);
  say(
    cancelled
      ? `      → cancelled: its entry still falls due, and the job sink skips it`
      : `      → UNEXPECTED: job ${reminder} was not cancelled`,
  );
  return { welcome, reminder };
}

/** One line on how each job ended. Throws when the cancelled job ran or the other did not. */
export async function reportDemoJobs(
  jobs: DemoJobs,
  ids: { welcome: string; reminder: string },
  at: (time: number) => string,
): Promise<string> {
  const [welcome, reminder] = await Promise.all([jobs.queue.get(ids.welcome), jobs.queue.get(ids.reminder)]);
  if (welcome?.state !== 'succeeded') throw new Error(`job ${ids.welcome} did not run: ${welcome?.state}`);
  if (jobs.ran.has(ids.reminder) || reminder?.state !== 'cancelled')
    throw new Error(`the cancelled job ${ids.reminder} ran (${reminder?.state})`);
  const ranAt = jobs.ran.get(ids.welcome)!;
  return (
    `job ${ids.welcome} (welcome): succeeded, ran at ${at(ranAt)}, due ${at(welcome.runAt.getTime())}; ` +
    `job ${ids.reminder} (reminder): cancelled, never ran`
  );
}
