import { CommanderError } from 'commander';
import { describeError, ExitStatus } from './errors.js';
import { buildProgram } from './program.js';

/**
 * Runs the CLI on `argv` and returns the exit code: 0 on success (and for --help / --version), 1 when the
 * command failed, 2 for bad usage (commander has printed the error and the help by then), or the status a
 * command ended with on purpose (ExitStatus).
 */
export async function run(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv]);
    return 0;
  } catch (err) {
    if (err instanceof ExitStatus) return err.status;
    if (err instanceof CommanderError) {
      // --help, `help <command>` and --version end with exit code 0; every other commander error is usage.
      return err.exitCode === 0 ? 0 : 2;
    }
    process.stderr.write(`${describeError(err)}\n`);
    return 1;
  }
}
