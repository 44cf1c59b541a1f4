import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { Redis } from 'ioredis';
import { freePort } from '../../test/support/free-port.js';

export interface BenchRedis {
  url: string;
  source: 'REDIS_URL' | 'local' | 'spawned';
  stop(): Promise<void>;
}

/**
 * REDIS_URL if set; else a Redis on 127.0.0.1:6379 if it answers PING; else a redis-server from PATH on
 * a free port (stopped by `stop()`); else undefined, and the reason. test/support/servers.ts does the same
 * for tests but registers vitest hooks, so it cannot be imported here.
 */
export async function openBenchRedis(): Promise<BenchRedis | { skipped: string }> {
  if (process.env.REDIS_URL) return { url: process.env.REDIS_URL, source: 'REDIS_URL', stop: async () => {} };
  if (await pings(6379)) return { url: 'redis://127.0.0.1:6379', source: 'local', stop: async () => {} };
  const port = await freePort();
  const proc = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  const failed = new Promise<string>((resolve) => {
    proc.once('error', (err) => resolve(`redis-server could not start: ${err.message}`));
    proc.once('exit', (code) => resolve(`redis-server exited (${code})`));
  });
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const outcome = await Promise.race([failed, pings(port)]);
    if (typeof outcome === 'string') return { skipped: outcome };
    if (outcome) {
      process.once('exit', () => proc.kill('SIGKILL'));
      return {
        url: `redis://127.0.0.1:${port}`,
        source: 'spawned',
        stop: async () => {
          const gone = new Promise((resolve) => proc.once('exit', resolve));
          proc.kill('SIGTERM');
          await gone;
        },
      };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  proc.kill('SIGKILL');
  return { skipped: 'redis-server did not answer PING within 10 s' };
}

function pings(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let reply = '';
    const finish = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => finish(false));
    socket.on('error', () => finish(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d) => {
      reply += d.toString();
      if (reply.includes('\n')) finish(reply.startsWith('+PONG'));
    });
  });
}

/** Deletes the keys matching `pattern` (SCAN + UNLINK), so that a shared Redis keeps nothing of a run. */
export async function removeKeys(url: string, pattern: string): Promise<void> {
  const client = new Redis(url, { lazyConnect: true });
  await client.connect();
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      if (keys.length > 0) await client.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    await client.quit();
  }
}
