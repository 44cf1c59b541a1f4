import { answers, spawnLocal } from './local-server.js';

export interface BenchMemcached {
  /** memjs's `servers`: host:port[,host:port...]. */
  servers: string;
  source: 'MEMCACHED_SERVERS' | 'local' | 'spawned';
  stop(): Promise<void>;
}

const VERSION = 'version\r\n';

/**
 * MEMCACHED_SERVERS if set; else a memcached on 127.0.0.1:11211 if it answers `version`; else a memcached
 * from PATH on a free port (stopped by `stop()`); else the reason it is unavailable.
 */
export async function openBenchMemcached(): Promise<BenchMemcached | { skipped: string }> {
  const fromEnv = process.env.MEMCACHED_SERVERS;
  if (fromEnv) return { servers: fromEnv, source: 'MEMCACHED_SERVERS', stop: async () => {} };
  if (await answers(11211, VERSION, 'VERSION')) {
    return { servers: '127.0.0.1:11211', source: 'local', stop: async () => {} };
  }
  // memcached refuses to run as root unless told which user to run as.
  const user = process.getuid?.() === 0 ? ['-u', 'root'] : [];
  const server = await spawnLocal({
    binary: 'memcached',
    args: (port) => ['-l', '127.0.0.1', '-p', String(port), '-U', '0', ...user],
    probe: VERSION,
    answer: 'VERSION',
  });
  if ('skipped' in server) return server;
  return { servers: `127.0.0.1:${server.port}`, source: 'spawned', stop: server.stop };
}
