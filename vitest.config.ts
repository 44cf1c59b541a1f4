import { fileURLToPath } from 'node:url';
import { configDefaults, defineConfig } from 'vitest/config';

const source = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  // Tests run the workspace packages from their sources, not from a dist/ that may be stale or half-built
  // while another install runs (the packaging tests check the built packages separately).
  resolve: {
    alias: [
      { find: /^walbox$/, replacement: source('./src/index.ts') },
      { find: /^@walbox\/sink-kit$/, replacement: source('./packages/sink-kit/src/index.ts') },
      { find: /^@walbox\/sink-index$/, replacement: source('./packages/sink-index/src/index.ts') },
      { find: /^@walbox\/sink-testkit$/, replacement: source('./packages/sink-testkit/src/index.ts') },
      {
        find: /^@walbox\/throwaway-postgres$/,
        replacement: source('./packages/throwaway-postgres/src/index.ts'),
      },
    ],
  },
  test: {
    include: ['test/**/*.test.ts', 'packages/*/test/**/*.test.ts'],
    // The chaos scenarios run on their own: npm run test:chaos (vitest.chaos.config.ts); so do the bus sinks'
    // broker restarts: npm run test:restarts (vitest.restarts.config.ts).
    exclude: [...configDefaults.exclude, 'test/chaos/**', 'packages/*/test/*-restart.int.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
