import { createServer } from 'node:http';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { createConsoleHandler } from '../../console/handler.js';
import { toNodeHandler } from '../../console/node-adapter.js';
import { Walbox } from '../../walbox.js';
import { globalOptions, openPool } from '../context.js';

interface ConsoleFlags {
  port: number;
  host: string;
  readOnly: boolean;
  basicAuth?: { user: string; password: string };
}

export function registerConsole(program: Command): void {
  program
    .command('console')
    .description(
      'the web console: lag per target, blocked keys, dead letters (redrive, discard), key history, replay',
    )
    .option('--port <n>', 'port to listen on (0: any free port)', port, 8080)
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--read-only', 'show everything, change nothing (actions answer 403)', false)
    .addOption(
      new Option('--basic-auth <user:password>', 'ask for these credentials (HTTP basic authentication)')
        .env('WALBOX_CONSOLE_BASIC_AUTH')
        .argParser(credentials),
    )
    .addHelpText(
      'after',
      `
Serves until SIGINT or SIGTERM. Prefer WALBOX_CONSOLE_BASIC_AUTH to --basic-auth: a flag shows in ps.
Listening on anything but loopback without --basic-auth prints a warning.`,
    )
    .action((o: ConsoleFlags, cmd: Command) => serve(cmd, o));
}

async function serve(cmd: Command, o: ConsoleFlags): Promise<void> {
  const g = globalOptions(cmd);
  const pool = openPool(cmd, g.databaseUrl);
  const walbox = new Walbox({ pool, schema: g.schema });
  const handler = createConsoleHandler(walbox, { readOnly: o.readOnly, basicAuth: o.basicAuth });
  const server = createServer(toNodeHandler(handler));
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.port, o.host, () => resolve());
    });
    const address = server.address();
    const actualPort = typeof address === 'object' && address ? address.port : o.port;
    const shown = o.host.includes(':') ? `[${o.host}]` : o.host;
    const mode = [o.readOnly ? 'read-only' : '', o.basicAuth ? 'basic auth' : ''].filter(Boolean).join(', ');
    process.stdout.write(`walbox console on http://${shown}:${actualPort}/${mode ? ` (${mode})` : ''}\n`);
    if (!o.basicAuth && !isLoopback(o.host)) {
      process.stderr.write(
        `warning: the console listens on ${o.host} without --basic-auth: anyone who reaches it can redrive and replay\n`,
      );
    }
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
  } finally {
    handler.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await pool.end();
  }
}

function port(value: string): number {
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65_535)
    throw new InvalidArgumentError('expected a port from 0 to 65535');
  return Number(value);
}

function credentials(value: string): { user: string; password: string } {
  const colon = value.indexOf(':');
  if (colon < 1 || colon === value.length - 1) throw new InvalidArgumentError('expected user:password');
  return { user: value.slice(0, colon), password: value.slice(colon + 1) };
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}
