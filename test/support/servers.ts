import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { freePort } from './free-port.js';
import { type ServerBinary, serverPath } from './required-servers.js';

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
  /**
   * SIGSTOP, resolved once the process is stopped (state T in /proc): the signal is delivered
   * asynchronously, and a request sent right after kill() could still be answered.
   */
  freeze(): Promise<void>;
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
 * however often it is called) and stopped after it. Test files skip the tests that need a server when it is
 * missing (required-servers.ts), so none of these functions is reached without one.
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
export async function startRedis(options: { durable?: boolean } = {}): Promise<RedisServer> {
  const port = await freePort();
  // durable: every write is in the append-only file before Redis answers, so a SIGKILL loses nothing that
  // was acknowledged (a replica that must survive a restart of its store is run this way).
  const durable = options.durable
    ? [
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
        '--dir',
        await mkdtemp(join(tmpdir(), 'walbox-redis-')),
      ]
    : ['--appendonly', 'no'];
  const server = await spawnServer({
    binary: 'redis-server',
    args: ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...durable],
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

export interface ServerSpec {
  binary: ServerBinary;
  args: string[];
  port: number;
  /** Sent on a new connection until the reply starts with `answer`... */
  probe?: string;
  answer?: string;
  /** ...or, for a server that a line does not probe, this: resolves once it answers, rejects after timeoutMs. */
  ready?: (timeoutMs: number) => Promise<void>;
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

/** Starts `spec.binary` on its port and keeps it there across stop() and start(); stopped after the file. */
export async function spawnServer(spec: ServerSpec): Promise<SpawnedServer> {
  let child: ChildProcess | undefined;

  const start = async () => {
    if (child) return;
    // The path required-servers.ts found, which may be in an sbin directory off PATH.
    const proc = spawn(serverPath(spec.binary) ?? spec.binary, spec.args, {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
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
      await Promise.race([spec.ready ? spec.ready(10_000) : answers(spec, 10_000), exited]);
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
    freeze: () => freeze(child, spec.binary),
  };
}

/**
 * Sends SIGSTOP and resolves once the process is stopped (state T in /proc/<pid>/stat, read after the last
 * ')' since the command name may hold spaces).
 */
export async function freeze(child: ChildProcess | undefined, name: string): Promise<void> {
  const pid = child?.pid;
  if (!child || pid === undefined) return;
  child.kill('SIGSTOP');
  const deadline = Date.now() + 5000;
  while (!/\)\s+T/.test(await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => ') T'))) {
    if (Date.now() > deadline) throw new Error(`${name} did not stop within 5 s`);
    await new Promise((r) => setTimeout(r, 5));
  }
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
    socket.on('connect', () => socket.write(spec.probe ?? ''));
    socket.on('data', (d) => {
      reply += d.toString();
      if (reply.includes('\n')) finish(reply.startsWith(spec.answer ?? ''));
    });
  });
}

export interface RedisCluster {
  /** redis://127.0.0.1:<port> of each master, in the order their slot ranges follow. */
  readonly urls: readonly string[];
  readonly nodes: readonly SpawnedServer[];
  /** Stops every node and removes their cluster config files; also done after the test file. */
  stop(): Promise<void>;
}

/**
 * A Redis Cluster of this test file's own: `size` masters without replicas on loopback ports, the 16,384
 * slots split evenly between them, ready (cluster_state:ok on every node) when this resolves. Formed with
 * CLUSTER ADDSLOTSRANGE and CLUSTER MEET, which is what `redis-cli --cluster create` sends, so that only
 * redis-server (7.0 or later, for ADDSLOTSRANGE and --cluster-port) has to be installed.
 */
export async function startRedisCluster(size = 3): Promise<RedisCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'walbox-redis-cluster-'));
  const nodes: Array<SpawnedServer & { bus: number }> = [];
  const stop = async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    await rm(dir, { recursive: true, force: true });
  };
  stops.add(stop);
  try {
    for (let i = 0; i < size; i++) {
      // The cluster bus port defaults to port + 10000, which may be taken or above 65535: pick one.
      const [port, bus] = [await freePort(), await freePort()];
      const node = await spawnServer({
        binary: 'redis-server',
        args: [
          ...['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
          ...['--dir', dir, '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`],
          ...['--cluster-port', String(bus), '--cluster-node-timeout', '5000'],
        ],
        port,
        probe: 'PING\r\n',
        answer: '+PONG',
      });
      nodes.push(Object.assign(node, { bus }));
    }
    const slots = 16_384;
    for (const [i, node] of nodes.entries()) {
      const [from, to] = [Math.floor((i * slots) / size), Math.floor(((i + 1) * slots) / size) - 1];
      // Distinct config epochs, so that no node has to win an epoch collision before the cluster is ok.
      await command(node.port, ['CLUSTER', 'SET-CONFIG-EPOCH', String(i + 1)]);
      await command(node.port, ['CLUSTER', 'ADDSLOTSRANGE', String(from), String(to)]);
    }
    for (const other of nodes.slice(1))
      await command(nodes[0]!.port, ['CLUSTER', 'MEET', '127.0.0.1', String(other.port), String(other.bus)]);
    const deadline = Date.now() + 20_000;
    for (const node of nodes) {
      for (;;) {
        const info = await command(node.port, ['CLUSTER', 'INFO']);
        if (info.includes('cluster_state:ok') && info.includes(`cluster_known_nodes:${size}`)) break;
        if (Date.now() > deadline) throw new Error(`redis cluster not ok within 20 s:\n${info}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { urls: nodes.map((n) => `redis://127.0.0.1:${n.port}`), nodes, stop };
}

/** Sends one command to a Redis on a loopback port; resolves with its reply's text, rejects on an error reply. */
function command(port: number, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let reply = '';
    socket.setTimeout(5000, () => socket.destroy(new Error(`no reply to ${args.join(' ')} in 5 s`)));
    socket.on('error', reject);
    socket.on('connect', () =>
      socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`),
    );
    socket.on('data', (d) => {
      reply += d.toString();
      // A simple reply (+OK, -ERR) is one line; a bulk reply ($<length>) is complete with its payload.
      const bulk = /^\$(\d+)\r\n/.exec(reply);
      if (!reply.includes('\r\n') || (bulk && reply.length < bulk[0].length + Number(bulk[1]) + 2)) return;
      socket.destroy();
      if (reply.startsWith('-')) reject(new Error(`${args.join(' ')}: ${reply.trim()}`));
      else resolve(bulk ? reply.slice(bulk[0].length, bulk[0].length + Number(bulk[1])) : reply.trim());
    });
  });
}
