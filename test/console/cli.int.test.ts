// `walbox console` as a user runs it: a child process that prints where it listens, serves the console with
// the flags given, and exits 0 on SIGTERM.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { databaseUrl, isolatedWalbox } from '../support/db.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const { walbox } = await isolatedWalbox('console-cli');
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});

/** Runs the CLI from its sources (tsx), as bin/walbox.js runs the build. */
function walboxCli(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: databaseUrl(), WALBOX_SCHEMA: walbox.schema, ...env },
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const listening = new Promise<string>((resolve, reject) => {
    child.stdout.on('data', () => {
      const m = /walbox console on (http:\/\/\S+\/)/.exec(stdout);
      if (m) resolve(m[1]!);
    });
    child.on('exit', () => reject(new Error(`exited before listening:\n${stdout}${stderr}`)));
  });
  listening.catch(() => {}); // awaited by the tests that expect it to listen
  return { child, exited, listening, output: () => ({ stdout, stderr }) };
}

describe('walbox console', () => {
  it('serves the console read-only behind basic auth, and exits 0 on SIGTERM', async () => {
    const run = walboxCli(['console', '--port', '0', '--read-only'], {
      WALBOX_CONSOLE_BASIC_AUTH: 'ops:s3cret',
    });
    const url = await run.listening;
    expect(run.output().stdout).toContain('(read-only, basic auth)');
    expect((await fetch(url)).status).toBe(401);
    const auth = { authorization: `Basic ${Buffer.from('ops:s3cret').toString('base64')}` };
    const page = await fetch(`${url}dead-letters`, { headers: auth });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('read-only');
    const refused = await fetch(`${url}replay`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'transactionId=1',
    });
    expect(refused.status).toBe(403);
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
  });

  it('rejects bad flags with a one-line error and exit code 2', async () => {
    for (const args of [
      ['console', '--port', 'http'],
      ['console', '--basic-auth', 'no-colon'],
    ]) {
      const run = walboxCli(args);
      expect(await run.exited, args.join(' ')).toBe(2);
      expect(run.output().stderr).toMatch(
        /error: option '--(port|basic-auth) .*' argument '.*' is invalid\. expected/,
      );
    }
  });
});
