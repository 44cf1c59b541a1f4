import { describe, expect, it } from 'vitest';
import { run } from '../src/cli/run.js';
import { databaseUrl, isolatedWalbox } from './support/db.js';

const { pool, walbox, schema } = await isolatedWalbox('jobs-cli');

/** The CLI in this process (the packaging of bin/walbox.js is test/cli.int.test.ts's), on this file's schema. */
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const write = { out: process.stdout.write, err: process.stderr.write };
  process.stdout.write = ((chunk: string) => out.push(String(chunk)) > 0) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string) => err.push(String(chunk)) > 0) as typeof process.stderr.write;
  try {
    const argv = ['node', 'walbox', '--database-url', databaseUrl(), '--schema', schema, ...args];
    const code = await run(argv);
    return { code, stdout: out.join(''), stderr: err.join('') };
  } finally {
    process.stdout.write = write.out;
    process.stderr.write = write.err;
  }
}

describe('walbox jobs (CLI)', () => {
  it('lists jobs due before a time, counts them per state, cancels one; status shows the counts', async () => {
    const queue = walbox.jobs('mail');
    const soon = await queue.schedule(pool, { payload: { to: 'ada' }, delay: { ms: 60_000 } });
    const later = await queue.schedule(pool, { payload: { to: 'bob' }, delay: { ms: 7_200_000 } });

    const listed = await cli(['--json', 'jobs', 'list', '--queue', 'mail', '--due-before', '30m']);
    expect(listed.stderr).toBe('');
    expect(JSON.parse(listed.stdout).map((j: { id: string }) => j.id)).toEqual([soon]);

    const all = await cli(['jobs', 'list', '--queue', 'mail']);
    expect(all.stdout).toMatch(/id\s+state\s+run_at/);
    expect(all.stdout).toContain('{"to":"bob"}');

    const cancel = await cli(['--json', 'jobs', 'cancel', '--queue', 'mail', later]);
    expect(JSON.parse(cancel.stdout)).toEqual({ id: later, cancelled: true });

    const counts = await cli(['--json', 'jobs', 'status']);
    expect(JSON.parse(counts.stdout)).toEqual([
      { queue: 'mail', scheduled: 1, overdue: 0, running: 0, failed: 0, succeeded: 0, cancelled: 1 },
    ]);
    const status = await cli(['status']);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/jobs:\n\s*queue\s+scheduled\s+overdue/);

    const bad = await cli(['jobs', 'list', '--queue', 'mail', '--due-before', 'soonish']);
    expect(bad.code).toBe(2);
  });
});
