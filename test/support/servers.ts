import { type ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { afterAll } from 'vitest';
import { freePort } from './free-port.js';

/** A store server this test file started: a child process on a loopback port it keeps across restarts. */
export interface SpawnedServer {
  readonly port: number;
  /** True while the process runs (also while paused with SIGSTOP). */
  readonly running: boolean;
  /** Ends the process (SIGTERM, SIGKILL after 5 s) and waits for it; a no-op when it is not running. */
  stop(): Promise<void>;
  /** Starts it again on the same port and waits until it answers; a no-op when it is running. */
  start(): Promise<void>;
  /** Sends a signal: SIGSTOP freezes the server with its port open (a hung server), SIGCONT resumes it. */
  kill(signal?: NodeJS.Signals): void;
}

export interface RedisServer extends SpawnedServer {
  /** redis://127.0.0.1:<port> */
  readonly url: string;
}

export interface MemcachedServer extends SpawnedServer {
  /** 127.0.0.1:<port>, as memjs takes it. */
  readonly servers: string;
}

/**
 * REDIS_URL when set; otherwise the URL of a redis-server (from PATH) started for this test file (once,
 * however often it is called) and stopped after it.
 */
export function redisUrl(): Promise<string> {
  if (process.env.REDIS_URL) return Promise.resolve(process.env.REDIS_URL);
  sharedRedis ??= startRedis().then((s) => s.url);
  return sharedRedis;
}

/** MEMCACHED_SERVERS when set; otherwise a memcached (from PATH) started for this test file. */
export function memcachedServers(): Promise<string> {
  if (process.env.MEMCACHED_SERVERS) return Promise.resolve(process.env.MEMCACHED_SERVERS);
  sharedMemcached ??= startMemcached().then((s) => s.servers);
  return sharedMemcached;
}

let sharedRedis: Promise<string> | undefined;
let sharedMemcached: Promise<string> | undefined;

/** A redis-server of this test file's own (whatever REDIS_URL says), for tests that stop and restart it. */
export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  const server = await spawnServer({
    binary: 'redis-server',
    args: ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    port,
    probe: 'PING\r\n',
    answer: '+PONG',
  });
  return Object.assign(server, { url: `redis://127.0.0.1:${port}` });
}

/** A memcached of this test file's own, for tests that stop and restart it. */
export async function startMemcached(): Promise<MemcachedServer> {
  const port = await freePort();
  // memcached refuses to run as root unless told which user to run as.
  const user = process.getuid?.() === 0 ? ['-u', 'root'] : [];
  const server = await spawnServer({
    binary: 'memcached',
    args: ['-l', '127.0.0.1', '-p', String(port), '-U', '0', ...user],
    port,
    probe: 'version\r\n',
    answer: 'VERSION',
  });
  return Object.assign(server, { servers: `127.0.0.1:${port}` });
}

interface ServerSpec {
  binary: string;
  args: string[];
  port: number;
  /** Sent on a new connection until the reply starts with `answer`. */
  probe: string;
  answer: string;
}

// Every server this file started is stopped after the file, whether a test started it at the top level, in
// a hook or in a test: this hook is registered when the test file imports this module. The exit handler
// covers a worker that dies first.
const stops = new Set<() => Promise<void>>();
const children = new Set<ChildProcess>();
afterAll(async () => {
  await Promise.all([...stops].map((stop) => stop()));
});
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

async function spawnServer(spec: ServerSpec): Promise<SpawnedServer> {
  let child: ChildProcess | undefined;

  const start = async () => {
    if (child) return;
    const proc = spawn(spec.binary, spec.args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child = proc;
    children.add(proc);
    let stderr = '';
    proc.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-2000);
    });
    const exited = new Promise<never>((_, reject) => {
      proc.once('error', (err) =>
        reject(
          new Error(`could not start ${spec.binary} (install it, or set the URL variable the tests read)`, {
            cause: err,
          }),
        ),
      );
      proc.once('exit', (code, signal) =>
        reject(new Error(`${spec.binary} exited (${signal ?? code}) before answering: ${stderr.trim()}`)),
      );
    });
    exited.catch(() => {});
    proc.once('exit', () => {
      children.delete(proc);
      if (child === proc) child = undefined;
    });
    try {
      await Promise.race([answers(spec, 10_000), exited]);
    } catch (err) {
      proc.kill('SIGKILL');
      throw err;
    }
  };

  const stop = async () => {
    const proc = child;
    if (!proc) return;
    const gone = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGCONT'); // a paused process would not act on SIGTERM
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(timer);
  };

  stops.add(stop);
  await start();
  return {
    port: spec.port,
    get running() {
      return child !== undefined;
    },
    start,
    stop,
    kill: (signal = 'SIGTERM') => {
      child?.kill(signal);
    },
  };
}

/** Resolves once a fresh connection to the port gets `answer` back for `probe`. */
async function answers(spec: ServerSpec, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probeOnce(spec)) return;
    if (Date.now() > deadline)
      throw new Error(`${spec.binary} did not answer on 127.0.0.1:${spec.port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function probeOnce(spec: ServerSpec): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port: spec.port });
    let reply = '';
    const finish = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => finish(false));
    socket.on('error', () => finish(false));
    socket.on('connect', () => socket.write(spec.probe));
    socket.on('data', (d) => {
      reply += d.toString();
      if (reply.includes('\n')) finish(reply.startsWith(spec.answer));
    });
  });
}
