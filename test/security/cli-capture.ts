import { run } from '../../src/cli/run.js';

/** Runs the CLI in this process and returns its exit code and all it wrote on stdout and stderr. */
export async function cli(args: string[]): Promise<{ code: number; output: string }> {
  let output = '';
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  const capture = (chunk: string | Uint8Array) => {
    output += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    return true;
  };
  process.stdout.write = capture as typeof process.stdout.write;
  process.stderr.write = capture as typeof process.stderr.write;
  try {
    const code = await run(['node', 'walbox', ...args]);
    return { code, output };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
}
