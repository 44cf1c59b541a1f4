// `walbox tail`: the real CLI as a child process, reading a namespace's log as it commits.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCli, spawnWalbox, walboxCli } from './support/built-cli.js';
import { databaseUrl, isolatedWalbox } from './support/db.js';

const { pool, walbox, schema } = await isolatedWalbox('tail');
let built: Awaited<ReturnType<typeof buildCli>>;
const env = () => ({ DATABASE_URL: databaseUrl(), WALBOX_SCHEMA: schema });
const tail = (args: string[]) => walboxCli(built.pkg, ['tail', ...args], env());

beforeAll(async () => {
  built = await buildCli();
  await walbox.namespaces.upsert({ name: 'users', targets: ['cache'], partitions: 3 });
  await walbox.namespaces.upsert({ name: 'other', targets: ['cache'], partitions: 1 });
  await walbox.appendMany(
    pool,
    Array.from({ length: 15 }, (_, i) => ({
      namespace: 'users',
      key: `u${i % 5}`,
      op: 'upsert',
      payload: { i },
    })),
  );
  await walbox.append(pool, { namespace: 'other', key: 'x', op: 'upsert', payload: 'not users' });
});
afterAll(async () => {
  await built?.remove();
});

const ESC = '\u001b';

describe('walbox tail', () => {
  it('prints the newest entries of the namespace, oldest first, as lines or as JSON', async () => {
    const [human, json, key, none] = await Promise.all([
      tail(['--namespace', 'users']),
      tail(['--namespace', 'users', '--json', '-n', '3']),
      tail(['--namespace', 'users', '--key', 'u2', '--json']),
      tail(['--namespace', 'users', '--lines', '0']),
    ]);
    expect(human.code, human.stderr).toBe(0);
    const lines = human.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(10);
    expect(lines[9]).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z {2}\d+ {2}"u4" {2}upsert {2}\{"i":14\}$/);
    expect(human.stdout).not.toContain('not users');

    const rows = json.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows.map((r) => r.payload.i)).toEqual([12, 13, 14]);
    expect(rows[0]).toMatchObject({ namespace: 'users', key: 'u2', op: 'upsert', targets: ['cache'] });
    expect(
      key.stdout
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l).payload.i),
    ).toEqual([2, 7, 12]);
    expect(none).toMatchObject({ code: 0, stdout: '' });
  });

  it('escapes control characters of keys and payloads instead of sending them to the terminal', async () => {
    await walbox.append(pool, {
      namespace: 'users',
      key: `evil${ESC}]0;pwned\u0007${ESC}[2J`,
      op: 'upsert',
      payload: { csi: '\u009b31m', rtl: 'a\u202eb', bell: '\u0007' },
    });
    const r = await tail(['--namespace', 'users', '-n', '1']);
    expect(r.code).toBe(0);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: asserting that none is printed
    expect(r.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/);
    expect(r.stdout).toContain('"evil\\u001b]0;pwned\\u0007\\u001b[2J"');
    expect(r.stdout).toContain('"csi":"\\x9b31m"');
    expect(r.stdout).toContain('"rtl":"a\\u202eb"');
    // --json is for programs: the JSON escapes are enough there, and it stays valid JSON.
    const json = await tail(['--namespace', 'users', '-n', '1', '--json']);
    expect(JSON.parse(json.stdout).key).toBe(`evil${ESC}]0;pwned\u0007${ESC}[2J`);
  });

  it('--follow prints entries as they commit, one that committed late included, and exits 0 on SIGTERM', async () => {
    const proc = spawnWalbox(
      built.pkg,
      ['tail', '--namespace', 'users', '--follow', '-n', '1', '--interval', '50', '--json'],
      env(),
    );
    try {
      await proc.waitFor(/\n/, 60_000); // the newest entry: its snapshot is taken, it follows from there
      // A transaction takes its id first and commits last: tail -f must still print it.
      const late = await pool.connect();
      try {
        await late.query('begin');
        await walbox.append(late, { namespace: 'users', key: 'late', op: 'upsert', payload: 'late' });
        await walbox.append(pool, { namespace: 'users', key: 'early', op: 'upsert', payload: 'early' });
        await walbox.append(pool, { namespace: 'other', key: 'x', op: 'upsert', payload: 'not users' });
        await proc.waitFor(/"early"/);
        await late.query('commit');
      } finally {
        late.release();
      }
      await proc.waitFor(/"late"/);
    } finally {
      proc.kill('SIGTERM');
    }
    const end = await proc.exited;
    expect(end.code, end.stderr).toBe(0);
    const keys = end.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l).key);
    expect(keys.slice(1)).toEqual(['early', 'late']);
  });

  it('reports bad usage with exit status 2 and an unknown namespace with status 1, in one line', async () => {
    const [missing, badLines, unknown] = await Promise.all([
      tail([]),
      tail(['--namespace', 'users', '--lines', '-1']),
      tail(['--namespace', 'nope']),
    ]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("error: required option '--namespace <name>' not specified");
    expect(badLines.code).toBe(2);
    expect(badLines.stderr).toContain("option '-n, --lines <n>' argument '-1' is invalid");
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.trimEnd().split('\n')).toEqual([
      'error [UNKNOWN_NAMESPACE]: unknown namespace "nope": create it with walbox.namespaces.upsert()',
    ]);
  });
});
