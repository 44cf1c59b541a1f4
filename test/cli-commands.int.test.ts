// capture, dead-letters, replay, maintain and status --watch: the real CLI (bin/walbox.js of a fresh build) as a
// child process against a real database, with their progress on stderr, and their usage errors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Entry } from '../src/index.js';
import { buildCli, spawnWalbox, walboxCli } from './support/built-cli.js';
import { businessSchema } from './support/business-schema.js';
import { databaseUrl, isolatedWalbox } from './support/db.js';
import { FAST } from './support/dispatchers.js';
import { parkedIds } from './support/entries.js';
import { RecordingSink, until } from './support/recording-sink.js';

const { pool, walbox, schema } = await isolatedWalbox('cli-commands');
const biz = await businessSchema(pool, schema);
let built: Awaited<ReturnType<typeof buildCli>>;
const env = () => ({ DATABASE_URL: databaseUrl(), WALBOX_SCHEMA: schema });
const cli = (args: string[]) => walboxCli(built.pkg, args, env());

beforeAll(async () => {
  built = await buildCli();
});
afterAll(async () => {
  await built?.remove();
});

/** The JSON document a successful `--json` run printed on stdout. */
async function json<T>(args: string[]): Promise<{ value: T; stderr: string }> {
  const r = await cli([...args, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return { value: JSON.parse(r.stdout) as T, stderr: r.stderr };
}

/** The NDJSON progress lines of stderr. */
function progressLines(stderr: string): Array<Record<string, unknown>> {
  return stderr
    .trimEnd()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** A usage error: exit status 2, stderr opening with exactly `line` (commander prints the help after it). */
function expectUsage(r: { code: number | null; stderr: string }, line: string) {
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr.split('\n')[0]).toBe(line);
}

/** A failed command: exit status 1 and `lines` on stderr, nothing else. */
function expectFailure(r: { code: number | null; stderr: string }, ...lines: RegExp[]) {
  expect(r.code, r.stderr).toBe(1);
  const got = r.stderr.trimEnd().split('\n');
  expect(got, r.stderr).toHaveLength(lines.length);
  for (const [i, l] of lines.entries()) expect(got[i]).toMatch(l);
}

async function appended(namespace: string, count: number, payload: (i: number) => unknown = (i) => ({ i })) {
  return walbox.appendMany(
    pool,
    Array.from({ length: count }, (_, i) => ({ namespace, key: `k${i}`, op: 'upsert', payload: payload(i) })),
  );
}

describe('walbox capture', () => {
  it('captures a table, backfills its rows in chunks with progress on stderr, and uncaptures it', async () => {
    const rows = 7;
    const chunk = 3;
    await walbox.namespaces.upsert({ name: 'orders', targets: ['search'], partitions: 2 });
    await pool.query(`create table "${biz}".orders (id int primary key, total int)`);
    await pool.query(`insert into "${biz}".orders select g, g * 10 from generate_series(1, $1::int) g`, [
      rows,
    ]);
    const table = `${biz}.orders`;

    const { value, stderr } = await json<{ capturing: boolean; backfill: { rowsDone: number } }>([
      'capture',
      table,
      '--namespace',
      'orders',
      '--key-column',
      'id',
      '--backfill',
      '--chunk-size',
      String(chunk),
    ]);
    expect(value).toMatchObject({ table, capturing: true, backfill: { rowsDone: rows, rowsTotal: rows } });
    const progress = progressLines(stderr);
    expect(progress.at(-1)).toMatchObject({
      progress: `backfill ${table}`,
      done: rows,
      total: rows,
      final: true,
    });

    // The trigger appends what is written from now on; the backfill appended what was there.
    await pool.query(`update "${biz}".orders set total = -1 where id = 1`);
    const log = await cli(['tail', '--namespace', 'orders', '--json', '-n', '100']);
    const entries = log.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Entry);
    expect(entries).toHaveLength(rows + 1);
    expect(entries.at(-1)).toMatchObject({ key: '1', payload: { id: 1, total: -1 } });

    const off = await cli(['uncapture', table]);
    expect(off.stdout).toBe(`${table} is not captured (any more)\n`);
    await pool.query(`update "${biz}".orders set total = -2 where id = 1`);
    expect((await walbox.status({ namespace: 'orders' }))[0]!.pending).toBe(rows + 1);

    // Without --backfill: the human result, no progress.
    const human = await cli(['capture', table, '--namespace', 'orders', '--key-column', 'id']);
    expect(human.stderr).toBe('');
    expect(human.stdout).toBe(`capturing ${table} into namespace "orders" (key column id)\n`);
  });

  it('refuses bad usage with exit status 2 and a typed error with exit status 1', async () => {
    const [noKey, chunk, noTable, unknownNs] = await Promise.all([
      cli(['capture', 'orders', '--namespace', 'orders']),
      cli(['capture', 'orders', '--namespace', 'orders', '--key-column', 'id', '--chunk-size', '0']),
      cli(['capture', '--namespace', 'orders', '--key-column', 'id']),
      cli(['capture', `${biz}.orders`, '--namespace', 'nope', '--key-column', 'id']),
    ]);
    expectUsage(noKey, "error: required option '--key-column <column>' not specified");
    expectUsage(
      chunk,
      "error: option '--chunk-size <rows>' argument '0' is invalid. expected a whole number of rows from 1 to 100000",
    );
    expectUsage(noTable, "error: missing required argument 'table'");
    expectFailure(unknownNs, /^error \[UNKNOWN_NAMESPACE\]: unknown namespace "nope"/);
  });
});

describe('walbox dead-letters', () => {
  it('lists dead letters, redrives and discards them by id and by filter, with progress on stderr', async () => {
    const count = 9;
    await walbox.namespaces.upsert({
      name: 'payments',
      targets: ['ledger'],
      retry: { limit: 1, initialDelayMs: 20, maxDelayMs: 50 },
      onExhausted: 'dead-letter',
    });
    const entries = await appended('payments', count);
    const sink = new RecordingSink('ledger');
    sink.fault = (batch) => ({ failed: batch.map((e) => ({ id: e.id, error: new Error('ledger closed') })) });
    const d = walbox.dispatcher({ sinks: { ledger: sink }, ...FAST });
    await d.start();
    try {
      await until(
        async () => (await walbox.deadLetters.list({ namespace: 'payments' })).length === count,
        30_000,
        `${count} dead letters`,
      );
    } finally {
      await d.stop();
    }

    const { value: listed } = await json<
      Array<{ id: string; entryId: string; key: string; lastError: string }>
    >(['dead-letters', 'list', '--namespace', 'payments']);
    expect(listed.map((l) => l.entryId)).toEqual(entries.map((e) => e.id));
    expect(listed[0]!.lastError).toContain('ledger closed');
    const table = await cli(['dead-letters', 'list', '--namespace', 'payments', '--limit', '2']);
    expect(table.stdout).toMatch(/^id\s+entry\s+namespace\s+target\s+key\s+status\s+attempts/);
    expect(table.stdout.trimEnd().split('\n')).toHaveLength(2 + 2);
    const [a, b, c, byKey] = listed;

    const two = await cli(['dead-letters', 'redrive', a!.id, b!.id]);
    expect(two.stdout).toBe('redriven 2 of 2 (only open dead letters are affected)\n');
    expect(two.stderr.trimEnd().split('\n').at(-1)).toMatch(
      /^redrive dead letters {2}2\/2 {2}\[#{20}\] 100\.0% {2}[\d,]+\/s {2}in \d+s$/,
    );
    const again = await cli(['dead-letters', 'discard', a!.id, c!.id, '--no-progress']);
    expect(again.stderr).toBe('');
    expect(again.stdout).toBe('discarded 1 of 2 (only open dead letters are affected)\n');
    const one = await json<{ discarded: number; filter: object }>([
      'dead-letters',
      'discard',
      '--key',
      byKey!.key,
    ]);
    expect(one.value).toEqual({ discarded: 1, filter: { key: byKey!.key } });

    const rest = count - 4;
    const all = await json<{ redriven: number }>([
      'dead-letters',
      'redrive',
      '--namespace',
      'payments',
      '--target',
      'ledger',
    ]);
    expect(all.value).toEqual({
      redriven: rest,
      filter: { namespace: 'payments', target: 'ledger' },
      outOfLog: 0,
    });
    const progress = progressLines(all.stderr);
    expect(progress[0]).toMatchObject({
      progress: 'redrive dead letters',
      done: 0,
      total: rest,
      final: false,
    });
    expect(progress.at(-1)).toMatchObject({ done: rest, total: rest, final: true });

    // What the database holds now: redriven ones queued again for the target, none open.
    const redriven = entries.map((e) => e.id).filter((id) => ![c!.entryId, byKey!.entryId].includes(id));
    expect(await parkedIds(pool, schema, 'payments', 'ledger')).toEqual(redriven);
    const { value: closed } = await json<Array<{ status: string }>>([
      'dead-letters',
      'list',
      '--namespace',
      'payments',
      '--status',
      'redriven,discarded',
    ]);
    expect(closed.filter((l) => l.status === 'discarded')).toHaveLength(2);
    expect(closed.filter((l) => l.status === 'redriven')).toHaveLength(count - 2);
    const none = await cli(['dead-letters', 'redrive', '--namespace', 'payments']);
    expect(none.stdout).toBe('redriven 0 open dead letters (namespace "payments")\n');
  });

  it('refuses bad usage with the one-line error and exit status 2', async () => {
    const runs = await Promise.all([
      cli(['dead-letters', 'redrive']),
      cli(['dead-letters', 'discard', '12', '--namespace', 'payments']),
      cli(['dead-letters', 'redrive', '12x']),
      cli(['dead-letters', 'list', '--status', 'dead,nope']),
      cli(['dead-letters', 'list', '--limit', '0']),
      cli(['dead-letters', 'list', '--colour']),
      cli(['dead-letters', 'resurrect', '12']),
    ]);
    const lines = [
      'error: give dead-letter ids, or select them with --namespace, --target or --key',
      'error: give dead-letter ids or --namespace/--target/--key, not both',
      "error: command-argument value '12x' is invalid for argument 'ids'. expected an id (digits)",
      "error: option '--status <list>' argument 'dead,nope' is invalid. unknown status \"nope\"; use dead, blocking, redriven, discarded",
      "error: option '--limit <n>' argument '0' is invalid. expected a positive integer",
      "error: unknown option '--colour'",
      "error: unknown command 'resurrect'",
    ];
    for (const [i, r] of runs.entries()) expectUsage(r, lines[i]!);
  });
});

describe('walbox replay', () => {
  it('queues a range with progress on stderr, skips what is queued already, and replays one mutation', async () => {
    const count = 12;
    await walbox.namespaces.upsert({ name: 'users', targets: ['cache', 'search'], partitions: 3 });
    const entries = await appended('users', count);
    const ids = entries.map((e) => e.id);
    const excluded = ids[4]!;

    const range = ['replay', '--namespace', 'users', '--target', 'cache', '--from', ids[0]!];
    const first = await cli([...range, '--exclude', excluded]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toBe(
      `queued ${count - 1} entries of users for target cache; a running dispatcher delivers them\n`,
    );
    expect(first.stderr.trimEnd().split('\n').at(-1)).toMatch(
      new RegExp(
        `^replay users → cache {2}${count - 1}/${count - 1} {2}\\[#{20}\\] 100\\.0% {2}[\\d,]+/s {2}in \\d+s$`,
      ),
    );
    expect(await parkedIds(pool, schema, 'users', 'cache')).toEqual(ids.filter((id) => id !== excluded));

    // Again, with the excluded one: only it is new; progress goes through the whole range.
    const second = await json<{ queued: number }>(range);
    expect(second.value).toEqual({ queued: 1 });
    expect(progressLines(second.stderr).at(-1)).toMatchObject({
      progress: 'replay users → cache',
      done: count,
      total: count,
      final: true,
    });

    const bounded = await cli([
      'replay',
      '--namespace',
      'users',
      '--target',
      'search',
      '--from',
      ids[2]!,
      '--to',
      ids[5]!,
      '--no-progress',
    ]);
    expect(bounded.stderr).toBe('');
    expect(bounded.stdout).toMatch(/^queued 4 entries of users for target search;/);
    expect(await parkedIds(pool, schema, 'users', 'search')).toEqual(ids.slice(2, 6));

    // One mutation: every entry of the appendMany transaction, at each of its targets (cache has them all).
    const { rows } = await pool.query<{ transaction_id: string }>(
      `select distinct transaction_id::text from "${schema}".audit where namespace = 'users'`,
    );
    expect(rows).toHaveLength(1);
    const mutation = await json<{ queued: number }>(['replay', '--transaction', rows[0]!.transaction_id]);
    expect(mutation.value).toEqual({ queued: count - 4 });
    expect(await parkedIds(pool, schema, 'users', 'search')).toEqual(ids);
  });

  it('refuses bad usage with the one-line error and exit status 2, a bad name with exit status 1', async () => {
    const [partial, badId, both, unknown, target] = await Promise.all([
      cli(['replay', '--namespace', 'users', '--target', 'cache']),
      cli(['replay', '--namespace', 'users', '--target', 'cache', '--from', 'first']),
      cli(['replay', '--transaction', '1', '--from', '3']),
      cli(['replay', '--namespace', 'users', '--target', 'cache', '--frm', '1']),
      cli(['replay', '--namespace', 'users', '--target', 'Cache!', '--from', '1']),
    ]);
    expectUsage(partial, 'error: a range needs --namespace, --target and --from (or give --transaction)');
    expectUsage(badId, "error: option '--from <id>' argument 'first' is invalid. expected an id (digits)");
    expectUsage(both, 'error: --transaction takes no --namespace, --from, --to or --exclude');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.split('\n')[0]).toMatch(/^error: unknown option '--frm'/);
    expectFailure(target, /^error \[INVALID_NAME\]: invalid target name "Cache!": use 1-63 lower-case/);
  });
});

describe('walbox maintain', () => {
  it('creates the coming day partitions once, then has nothing to do', async () => {
    const first = await json<{ created: number; dropped: string[]; keyLocksPruned: number }>(['maintain']);
    expect(first.stderr).toBe('');
    expect(first.value.dropped).toEqual([]);
    const again = await cli(['maintain']);
    expect(again.stdout).toMatch(
      /^day partitions created: 0\nday partitions dropped: none\nkey lock rows pruned: \d+\n$/,
    );
  });

  it('refuses an unknown option (exit 2) and an unmigrated schema (exit 1, with the hint)', async () => {
    const [flag, unmigrated] = await Promise.all([
      cli(['maintain', '--days', '3']),
      walboxCli(built.pkg, ['maintain', '--schema', `${schema}_none`], env()),
    ]);
    expectUsage(flag, "error: unknown option '--days'");
    expectFailure(
      unmigrated,
      /^error: postgres (3F000|42883): /,
      /^ {2}hint: has `walbox migrate` run on this schema\? \(see --schema\)$/,
    );
  });
});

describe('walbox status --watch', () => {
  it('draws the drain on stderr until the backlog is delivered, then prints the status on stdout', async () => {
    const count = 15;
    await walbox.namespaces.upsert({ name: 'drain', targets: ['sink'], partitions: 2 });
    await appended('drain', count);
    const args = [
      'status',
      '--namespace',
      'drain',
      '--watch',
      '--until-drained',
      '--interval',
      '100',
      '--json',
    ];
    const watching = spawnWalbox(built.pkg, args, env());
    await until(() => watching.output().stderr.includes('"pending"'), 30_000, 'the first progress line');
    expect(progressLines(watching.output().stderr)[0]).toMatchObject({
      progress: 'delivered',
      done: 0,
      pending: count,
      targets: [{ namespace: 'drain', target: 'sink', pending: count }],
    });

    const sink = new RecordingSink('sink');
    const d = walbox.dispatcher({ sinks: { sink }, ...FAST });
    await d.start();
    try {
      const r = await watching.exited;
      expect(r.code, r.stderr).toBe(0);
      expect(progressLines(r.stderr).at(-1)).toMatchObject({ done: count, pending: 0, final: true });
      expect(JSON.parse(r.stdout)).toEqual([expect.objectContaining({ target: 'sink', pending: 0 })]);
    } finally {
      watching.kill();
      await d.stop();
    }
    expect(sink.applied).toHaveLength(count);
  });

  it('stops on SIGTERM with exit status 0 and prints the last reading', async () => {
    await walbox.namespaces.upsert({ name: 'stuck', targets: ['nowhere'], partitions: 1 });
    const count = 3;
    await appended('stuck', count);
    const watching = spawnWalbox(
      built.pkg,
      ['status', '--namespace', 'stuck', '--watch', '--interval', '100'],
      env(),
    );
    const line = new RegExp(`^delivered {2}0 {2}0/s {2}pending ${count} {2}stuck/nowhere ${count} lag `, 'm');
    await until(() => line.test(watching.output().stderr), 30_000, 'a progress line');
    watching.kill('SIGTERM');
    const r = await watching.exited;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr.trimEnd().split('\n').at(-1)).toMatch(/ in \d+s$/);
    expect(r.stdout).toMatch(new RegExp(`^stuck\\s+nowhere\\s+${count}\\s`, 'm'));

    const [interval, cap] = await Promise.all([
      cli(['status', '--watch', '--interval', 'soon']),
      cli(['status', '--cap', '-1']),
    ]);
    expectUsage(
      interval,
      "error: option '--interval <ms>' argument 'soon' is invalid. expected a positive integer",
    );
    expectUsage(cap, "error: option '--cap <n>' argument '-1' is invalid. expected a positive integer");
  });
});
