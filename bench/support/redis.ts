import { Redis } from 'ioredis';
import { answers, spawnLocal } from './local-server.js';

export interface BenchRedis {
  url: string;
  source: 'REDIS_URL' | 'local' | 'spawned';
  stop(): Promise<void>;
}

const PING = 'PING\r\n';
const PONG = '+PONG';

/**
 * REDIS_URL if set; else a Redis on 127.0.0.1:6379 if it answers PING; else a redis-server from PATH on
 * a free port (stopped by `stop()`); else the reason it is unavailable.
 */
export async function openBenchRedis(): Promise<BenchRedis | { skipped: string }> {
  if (process.env.REDIS_URL) return { url: process.env.REDIS_URL, source: 'REDIS_URL', stop: async () => {} };
  if (await answers(6379, PING, PONG))
    return { url: 'redis://127.0.0.1:6379', source: 'local', stop: async () => {} };
  const server = await spawnLocal({
    binary: 'redis-server',
    args: (port) => ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    probe: PING,
    answer: PONG,
  });
  if ('skipped' in server) return server;
  return { url: `redis://127.0.0.1:${server.port}`, source: 'spawned', stop: server.stop };
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
