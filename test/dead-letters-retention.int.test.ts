// A dead letter whose log partition retention has dropped: the API and the real CLI say plainly that it
// cannot be redriven, and why, instead of a bare "redriven 0".
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConsoleHandler } from '../src/index.js';
import { buildCli, walboxCli } from './support/built-cli.js';
import { databaseUrl, isolatedWalbox } from './support/db.js';
import { FAST, stopAfterEach } from './support/dispatchers.js';
import { RecordingSink, until } from './support/recording-sink.js';

const { pool, walbox, schema } = await isolatedWalbox('dead-letters-retention');
const running = stopAfterEach();
let built: Awaited<ReturnType<typeof buildCli>>;
const cli = (args: string[]) =>
  walboxCli(built.pkg, args, { DATABASE_URL: databaseUrl(), WALBOX_SCHEMA: schema });

beforeAll(async () => {
  built = await buildCli();
});
const consoleHandler = createConsoleHandler(walbox, { historyIntervalMs: 60_000 });
const page = async (path: string, init?: RequestInit) =>
  consoleHandler(new Request(`http://console.test${path}`, init));
afterAll(async () => {
  await consoleHandler.close();
  await built?.remove();
});

/** A day partition in the past holding `n` entries of `namespace` for target `target` (keys old:1..n). */
async function oldDay(day: string, namespace: string, target: string, n: number): Promise<string> {
  const name = `entries_p${day.replaceAll('-', '')}`;
  await pool.query(
    `create table "${schema}".${name} partition of "${schema}".entries
       for values from ('${day}') to ('${day}'::date + 1)`,
  );
  await pool.query(
    `insert into "${schema}".entries (namespace, key, partition, op, payload, targets, created_at)
     select $1, 'old:' || g, 0, 'upsert', to_jsonb(g), array[$3], $4::date + interval '1 hour'
       from generate_series(1, $2::int) g`,
    [namespace, n, target, day],
  );
  return name;
}

describe('a dead letter whose entry retention dropped', () => {
  it('lists it with inLog false; redrive leaves it open and the CLI says why and what to do', async () => {
    await walbox.namespaces.upsert({
      name: 'aged',
      targets: ['dl'],
      retentionHours: 24,
      retry: { limit: 1, initialDelayMs: 20, maxDelayMs: 50 },
      onExhausted: 'dead-letter',
    });
    const day = await oldDay('2020-02-01', 'aged', 'dl', 2);
    const fresh = await walbox.append(pool, { namespace: 'aged', key: 'new', op: 'upsert', payload: 1 });
    const sink = new RecordingSink('dl');
    sink.fault = (batch) => ({ failed: batch.map((e) => ({ id: e.id, error: new Error('store down') })) });
    const d = walbox.dispatcher({ sinks: { dl: sink }, ...FAST });
    running.push(d);
    await d.start();
    await until(async () => (await walbox.deadLetters.list()).length === 3, 30_000, '3 dead letters');
    // Dead-lettered and moved past: once the cursor is committed, retention drops the old day.
    await until(async () => (await walbox.maintain()).dropped.includes(day), 30_000, `${day} dropped`);
    await d.stop();

    const letters = await walbox.deadLetters.list({ namespace: 'aged' });
    expect(letters.map((l) => [l.key, l.status, l.inLog])).toEqual([
      ['old:1', 'dead', false],
      ['old:2', 'dead', false],
      ['new', 'dead', true],
    ]);
    const [gone1, gone2, inLog] = letters;
    // The stored copy is still there.
    expect(gone1!.entry).toMatchObject({ namespace: 'aged', key: 'old:1', payload: 1 });

    expect(await walbox.deadLetters.redrive([gone1!.id])).toBe(0);
    expect(await walbox.deadLetters.countOutOfLog([gone1!.id])).toBe(1);
    expect(await walbox.deadLetters.countOutOfLog([inLog!.id])).toBe(0);
    expect(await walbox.deadLetters.countOutOfLog({ namespace: 'aged' })).toBe(2);
    expect((await walbox.deadLetters.list({ namespace: 'aged' })).map((l) => l.status)).toEqual([
      'dead',
      'dead',
      'dead',
    ]);

    const byId = await cli(['dead-letters', 'redrive', gone1!.id, '--no-progress']);
    expect(byId.code, byId.stderr).toBe(0);
    expect(byId.stdout).toBe(
      'redriven 0 of 1 (only open dead letters are affected)\n' +
        '1 not redriven: retention dropped its entry from the log (in_log false), so only the stored copy is ' +
        'left (`walbox dead-letters list --json`); discard it to close it\n',
    );

    const byFilter = await cli(['dead-letters', 'redrive', '--namespace', 'aged', '--json', '--no-progress']);
    expect(byFilter.code, byFilter.stderr).toBe(0);
    expect(JSON.parse(byFilter.stdout)).toEqual({
      redriven: 1,
      filter: { namespace: 'aged' },
      outOfLog: 2,
    });
    expect(sink.ids()).not.toContain(gone2!.entry.id);

    const listed = await cli(['dead-letters', 'list', '--namespace', 'aged', '--json']);
    const rows = JSON.parse(listed.stdout) as Array<{ id: string; inLog: boolean; entry: { key: string } }>;
    expect(rows.map((r) => [r.id, r.inLog, r.entry.key])).toEqual([
      [gone1!.id, false, 'old:1'],
      [gone2!.id, false, 'old:2'],
    ]);
    const table = await cli(['dead-letters', 'list', '--namespace', 'aged']);
    expect(table.stdout).toMatch(/^id\s+entry\s+namespace\s+target\s+key\s+status\s+attempts\s+in_log/);

    // The console marks them, offers no redrive for one, and its flash after a redrive says why.
    const listPage = await (await page('/dead-letters?namespace=aged')).text();
    expect(listPage.match(/not in log/g)).toHaveLength(2);
    const detail = await (await page(`/dead-letters/${gone1!.id}`)).text();
    expect(detail).toContain('retention dropped its entry from the log, so it cannot be redriven');
    expect(detail).not.toMatch(/>Redrive</);
    expect(detail).toMatch(/>Discard</);
    const csrf = /name="csrf" value="([^"]+)"/.exec(listPage)![1]!;
    const posted = await page('/dead-letters/redrive', {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ ids: `${gone1!.id},${gone2!.id}`, csrf }).toString(),
    });
    const location = posted.headers.get('location')!;
    expect(location).toBe('/dead-letters?done=redriven&n=0&of=2&gone=2');
    expect(await (await page(location)).text()).toContain(
      '2 stayed open: retention dropped their entries from the log, so they cannot be redriven; discard them.',
    );

    // What the operator can do: discard them; then nothing is left open and redrive has nothing to explain.
    expect(await walbox.deadLetters.discard({ namespace: 'aged' })).toBe(2);
    const after = await cli(['dead-letters', 'redrive', '--namespace', 'aged', '--no-progress']);
    expect(after.stdout).toBe('redriven 0 open dead letters (namespace "aged")\n');
    expect(fresh.id).toBe(inLog!.entryId);
  });
});
