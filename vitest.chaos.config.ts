import { defineConfig } from 'vitest/config';

// `npm run test:chaos`: each file is one scenario with a Postgres, Redis and memcached of its own and several
// processes; run one at a time, as they measure recovery times on a small machine.
export default defineConfig({
  test: {
    include: ['test/chaos/**/*.chaos.test.ts'],
    globalSetup: ['test/chaos/support/global-setup.ts'],
    fileParallelism: false,
    testTimeout: 600_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
