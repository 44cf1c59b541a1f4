import { type ChildProcess, spawn } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll } from 'vitest';
import { freePort } from './free-port.js';
import { serverPath } from './required-servers.js';
import { type SpawnedServer, spawnServer } from './servers.js';

// Private message brokers for the bus sinks' tests: a nats-server with JetStream, a RabbitMQ node. Each keeps
// its port and its data directory across stop() and start(), so a restart loses only what the broker itself
// would lose; both are stopped and their directories removed after the test file.

export interface NatsServer extends SpawnedServer {
  /** nats://127.0.0.1:<port> */
  readonly url: string;
}

export interface RabbitServer {
  readonly port: number;
  /** amqp://guest:guest@127.0.0.1:<port> */
  readonly url: string;
  /** The node's log (RabbitMQ writes <log base>/<node name>.log): what it recovered after a crash. */
  readonly logFile: string;
  readonly running: boolean;
  /** SIGTERM (a clean shutdown: RabbitMQ's script runs `rabbitmqctl stop`), SIGKILL after 30 s; waits. */
  stop(): Promise<void>;
  /** SIGKILL to the whole process group (the shell script, the Erlang VM and its helpers); waits. */
  crash(): Promise<void>;
  /** Starts it again on the same ports and data directory and waits until it answers AMQP. */
  start(): Promise<void>;
}

const dirs = new Set<string>();
const rabbits = new Set<RabbitServer>();
const natsServers = new Set<NatsServer>();
afterAll(async () => {
  // Every broker stopped before its directory goes: a nats-server still writing its JetStream store made
  // the removal fail with ENOTEMPTY (servers.ts stops it too, in an afterAll that may run after this one).
  await Promise.all([...rabbits, ...natsServers].map((b) => b.stop()));
  await Promise.all([...dirs].map((d) => rm(d, { recursive: true, force: true })));
});

/** NATS_URL when set; otherwise a nats-server with JetStream started for this test file (once). */
export function natsUrl(): Promise<string> {
  if (process.env.NATS_URL) return Promise.resolve(process.env.NATS_URL);
  sharedNats ??= startNats().then((s) => s.url);
  return sharedNats;
}
let sharedNats: Promise<string> | undefined;

/** A nats-server of this test file's own with JetStream on file storage (`-js -sd <tmpdir>`). */
export async function startNats(): Promise<NatsServer> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'walbox-nats-'));
  dirs.add(dir);
  const server = await spawnServer({
    binary: 'nats-server',
    args: ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir],
    port,
    // The server greets every connection with an INFO line; JetStream is up before it listens.
    probe: '',
    answer: 'INFO',
  });
  const nats = Object.assign(server, { url: `nats://127.0.0.1:${port}` });
  natsServers.add(nats);
  return nats;
}

/**
 * RABBITMQ_URL when set; else the machine's RabbitMQ on 127.0.0.1:5672 (guest/guest) when it answers;
 * else a RabbitMQ node started for this test file (slow: 6-15 s, see startRabbitmq).
 */
export async function rabbitmqUrl(): Promise<string> {
  if (process.env.RABBITMQ_URL) return process.env.RABBITMQ_URL;
  sharedRabbit ??= (async () => {
    if (await amqpAnswers(5672)) return 'amqp://guest:guest@127.0.0.1:5672';
    return (await startRabbitmq()).url;
  })();
  return sharedRabbit;
}
let sharedRabbit: Promise<string> | undefined;

/**
 * A RabbitMQ node of this test file's own: its own node name, AMQP and distribution ports, data and log
 * directories and HOME (for the Erlang cookie), none of the machine's config or plugins. It registers with
 * the machine's epmd (the Erlang VM starts one when none runs). Measured here: 12 s to the first start,
 * 6-7 s to a restart, 3 s to a clean stop, on 2 busy cores.
 */
export async function startRabbitmq(): Promise<RabbitServer> {
  const path = serverPath('rabbitmq-server');
  if (!path) throw new Error('rabbitmq-server not found: apt-get install rabbitmq-server');
  // Debian's /usr/sbin/rabbitmq-server is a wrapper that su's to the rabbitmq user (and so drops HOME);
  // the real script is its sibling in /usr/lib/rabbitmq/bin. On other installs the path is the script.
  const script = join(dirname(realpathSync(path)), 'rabbitmq-server');
  const [port, distPort] = [await freePort(), await freePort()];
  const dir = await mkdtemp(join(tmpdir(), 'walbox-rabbitmq-'));
  dirs.add(dir);
  const nodeName = `walbox${port}@localhost`;
  const env = {
    ...process.env,
    HOME: dir,
    RABBITMQ_NODENAME: nodeName,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq'), // none: not the machine's /etc/rabbitmq/rabbitmq.conf
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'), // no plugins (no management port)
    ERL_EPMD_ADDRESS: '127.0.0.1',
  };
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  const start = async () => {
    if (child) return;
    // detached: a process group of its own, so that crash() reaches the Erlang VM behind the script.
    const proc = spawn(script, [], { env, detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
    child = proc;
    let stderr = '';
    proc.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-2000);
    });
    exited = new Promise((resolve) =>
      proc.once('exit', () => {
        if (child === proc) child = undefined;
        resolve();
      }),
    );
    const deadline = Date.now() + 60_000;
    while (!(await amqpAnswers(port))) {
      if (!child) throw new Error(`rabbitmq-server exited before answering: ${stderr.trim()}`);
      if (Date.now() > deadline) {
        killGroup(proc, 'SIGKILL');
        throw new Error(`rabbitmq-server did not answer on 127.0.0.1:${port} within 60 s: ${stderr.trim()}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const stop = async () => {
    const proc = child;
    if (!proc) return;
    killGroup(proc, 'SIGTERM');
    const timer = setTimeout(() => killGroup(proc, 'SIGKILL'), 30_000);
    await exited;
    clearTimeout(timer);
    killGroup(proc, 'SIGKILL'); // whatever of the group outlived the script
  };
  const crash = async () => {
    const proc = child;
    if (!proc) return;
    killGroup(proc, 'SIGKILL');
    await exited;
    // The VM dies with the group; wait until its port is closed, so a restart does not find it taken.
    while (await amqpAnswers(port)) await new Promise((r) => setTimeout(r, 50));
  };
  process.once('exit', () => {
    if (child) killGroup(child, 'SIGKILL');
  });

  const server: RabbitServer = {
    port,
    url: `amqp://guest:guest@127.0.0.1:${port}`,
    logFile: join(dir, 'log', `${nodeName}.log`),
    get running() {
      return child !== undefined;
    },
    start,
    stop,
    crash,
  };
  rabbits.add(server);
  await start();
  return server;
}

function killGroup(proc: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (proc.pid !== undefined) process.kill(-proc.pid, signal);
  } catch {
    // already gone
  }
}

/** True when a server on the port answers the AMQP 0-9-1 protocol header with a method frame. */
export function amqpAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const finish = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2000, () => finish(false));
    socket.on('error', () => finish(false));
    socket.on('connect', () => socket.write(Buffer.from('AMQP\x00\x00\x09\x01', 'latin1')));
    socket.on('data', (d: Buffer) => finish(d[0] === 1)); // frame type 1: Connection.Start
  });
}
