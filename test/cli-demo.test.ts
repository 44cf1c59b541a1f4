import { existsSync } from 'node:fs';
import { Command, Option } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { registerDemo } from '../src/cli/commands/demo.js';
import { describeError } from '../src/cli/errors.js';

/** `walbox demo` with the demo package named `demoPackage`: what the CLI would print on stderr. */
async function demoWith(demoPackage: string, args: string[] = []): Promise<string> {
  // The global option of src/cli/program.ts that the demo reads: DATABASE_URL when set.
  const program = new Command('walbox')
    .exitOverride()
    .addOption(new Option('--database-url <url>').env('DATABASE_URL'));
  registerDemo(program, demoPackage);
  try {
    await program.parseAsync(['demo', '--no-redis', ...args], { from: 'user' });
    return 'ran';
  } catch (err) {
    return describeError(err);
  }
}

// The published walbox carries no demo: `walbox demo` loads the workspace package @walbox/demo, which only a
// clone has. The end-to-end run of the built CLI, with the package built, is in cli.int.test.ts.
describe('walbox demo without the demo package', () => {
  it('says in one line where the demo runs', async () => {
    expect(await demoWith('@walbox/no-such-demo')).toBe(
      'error: the demo is not installed here: run it in a clone of the walbox repository (npm ci && npx walbox demo)',
    );
  });

  it('names a package that is there but is not the demo', async () => {
    expect(await demoWith('pg')).toBe('error: pg has no runDemo: is it the version of this clone?');
  });
});

// The demo from its sources, through the command: DATABASE_URL when set, else a throwaway Postgres.
describe('walbox demo', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('shows a secondary-index lookup, a RocksDB replica read back, and a cancelled job next to a delivered one', async () => {
    let out = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out += String(chunk);
      return true;
    });
    const source = new URL('../packages/demo/src/index.ts', import.meta.url).href;
    const result = await demoWith(source);
    vi.restoreAllMocks();
    expect(result, out).toBe('ran');
    for (const line of [
      /^ {3}index {2}@walbox\/sink-index on Postgres: users by plan, in schema walbox_demo_[a-z0-9]+_index$/m,
      /^ {3}rocks {2}@walbox\/sink-rocksdb: an embedded RocksDB replica in \S+walbox-demo-rocksdb-\w+ \(no server\)$/m,
      /^ {3}job {4}queue "emails" \(walbox\.jobs\): namespace and target jobs\.emails; /m,
      /^ {6} *\+[\d.]+s {2}index ← \d+ entr(y|ies) \(#\d+( #\d+)*\) applied: the keys of each plan$/m,
      /^ {6} *\+[\d.]+s {2}rocks ← \d+ entr(y|ies) \(#\d+( #\d+)*\) applied in one RocksDB write batch$/m,
      /^ {6}→ jobs (\d+) and (\d+): a row each in the jobs table, an entry each in jobs\.emails$/m,
      /^ {6}→ cancelled: its entry still falls due, and the job sink skips it$/m,
      /^ {6} *\+[\d.]+s {2}job {3}← job \d+: welcome email to carol$/m,
      /^ {3}index {2}6 entries; per key, in commit order: alice #\d+ → #\d+ → #\d+; /m,
      /^ {3}rocks {2}6 entries; per key, in commit order: alice #\d+ → #\d+ → #\d+; /m,
      /^ {3}rocksdb replica \(embedded, no server\): alice → deleted; bob → nothing; carol → \{"name":"Carol","plan":"free"\}; dave → \{"name":"Dave","plan":"free"\}; erin → \{"name":"Erin","plan":"free"\}$/m,
      /^ {3}index lookup\('plan', …\): free → carol, dave, erin; pro → nobody$/m,
      /^ {3}jobs: job (\d+) \(welcome\): succeeded, ran at \+[\d.]+s, due \+[\d.]+s; job (\d+) \(reminder\): cancelled, never ran$/m,
      /^ {3}index {3}0 {8}0 {7}0 {5}6$/m,
      /^ {3}rocks {3}0 {8}0 {7}0 {5}6$/m,
      /^done in [\d.]+ s\./m,
    ])
      expect(out).toMatch(line);
    expect(out).not.toMatch(/reminder email to erin/);
    // The replica's directory is gone after the clean-up.
    const dir = /removed the RocksDB replica's directory (\S+)$/m.exec(out)?.[1];
    expect(dir).toMatch(/walbox-demo-rocksdb-/);
    expect(existsSync(dir!)).toBe(false);
  }, 120_000);
});
