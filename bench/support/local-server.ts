import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { freePort } from '../../test/support/free-port.js';

/** A server this run started on a free loopback port; `stop()` ends it. */
export interface SpawnedServer {
  port: number;
  stop(): Promise<void>;
}

/**
 * Starts `binary` (from PATH) on a free loopback port and waits until it answers `probe` with `answer`;
 * else the reason, for the report. test/support/servers.ts does the same for tests but registers vitest
 * hooks, so it cannot be imported here.
 */
export async function spawnLocal(spec: {
  binary: string;
  args: (port: number) => string[];
  probe: string;
  answer: string;
}): Promise<SpawnedServer | { skipped: string }> {
  const port = await freePort();
  const proc = spawn(spec.binary, spec.args(port), { stdio: 'ignore' });
  const failed = new Promise<string>((resolve) => {
    proc.once('error', (err) => resolve(`${spec.binary} could not start: ${err.message}`));
    proc.once('exit', (code) => resolve(`${spec.binary} exited (${code})`));
  });
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const outcome = await Promise.race([failed, answers(port, spec.probe, spec.answer)]);
    if (typeof outcome === 'string') return { skipped: outcome };
    if (outcome) {
      process.once('exit', () => proc.kill('SIGKILL'));
      return {
        port,
        stop: async () => {
          if (proc.exitCode !== null || proc.signalCode !== null) return;
          const gone = new Promise((resolve) => proc.once('exit', resolve));
          proc.kill('SIGTERM');
          await gone;
        },
      };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  proc.kill('SIGKILL');
  return { skipped: `${spec.binary} did not answer within 10 s` };
}

/** Whether a server on 127.0.0.1:`port` replies to the line `probe` with a line starting with `answer`. */
export function answers(port: number, probe: string, answer: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let reply = '';
    const finish = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => finish(false));
    socket.on('error', () => finish(false));
    socket.on('connect', () => socket.write(probe));
    socket.on('data', (d) => {
      reply += d.toString();
      if (reply.includes('\n')) finish(reply.startsWith(answer));
    });
  });
}
