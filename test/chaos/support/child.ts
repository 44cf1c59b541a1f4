import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
/** Where the chaos global setup bundles the fixtures (relative to the root; git-ignored). */
export const FIXTURE_BUNDLES = '.tmp/chaos';
const all = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of all) child.kill('SIGKILL');
});

/**
 * A TypeScript fixture in a process of its own (its bundle from the chaos global setup, else `node --import
 * tsx`; node itself, so that signals reach it and not a wrapper), its stdout handed over line by line. It
 * exits when this process does (its stdin closes).
 */
export class LineProcess {
  readonly process: ChildProcess;
  readonly pid: number;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr = '';
  #buffer = '';

  constructor(script: string, args: string[], env: Record<string, string>, onLine: (line: string) => void) {
    const bundle = `${FIXTURE_BUNDLES}/${basename(script).replace(/\.ts$/, '.mjs')}`;
    const run = existsSync(`${ROOT}${bundle}`) ? [bundle] : ['--import', 'tsx', script];
    this.process = spawn(process.execPath, [...run, ...args], {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    if (this.process.pid === undefined) throw new Error(`could not spawn ${script}`);
    this.pid = this.process.pid;
    all.add(this.process);
    this.exited = new Promise((resolve) =>
      this.process.once('exit', (code, signal) => {
        all.delete(this.process);
        resolve({ code, signal });
      }),
    );
    this.process.stderr!.setEncoding('utf8').on('data', (d: string) => {
      this.stderr = (this.stderr + d).slice(-10_000);
    });
    this.process.stdout!.setEncoding('utf8').on('data', (d: string) => {
      this.#buffer += d;
      const lines = this.#buffer.split('\n');
      this.#buffer = lines.pop() ?? '';
      for (const line of lines) onLine(line);
    });
  }

  get alive(): boolean {
    return this.process.exitCode === null && this.process.signalCode === null;
  }

  kill(signal: NodeJS.Signals): void {
    if (this.alive) this.process.kill(signal);
  }

  /** SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
  async stop(graceMs = 20_000): Promise<void> {
    if (!this.alive) return;
    this.kill('SIGTERM');
    const timer = setTimeout(() => this.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}
