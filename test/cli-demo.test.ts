import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { registerDemo } from '../src/cli/commands/demo.js';
import { describeError } from '../src/cli/errors.js';

/** `walbox demo` with the demo package named `demoPackage`: what the CLI would print on stderr. */
async function demoWith(demoPackage: string): Promise<string> {
  const program = new Command('walbox').exitOverride();
  registerDemo(program, demoPackage);
  try {
    await program.parseAsync(['demo', '--no-redis'], { from: 'user' });
    return 'ran';
  } catch (err) {
    return describeError(err);
  }
}

// The published walbox carries no demo: `walbox demo` loads the workspace package @walbox/demo, which only a
// clone has. The end-to-end run, with the package there, is in cli.int.test.ts.
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
