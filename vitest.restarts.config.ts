import { configDefaults, defineConfig } from 'vitest/config';
import base from './vitest.config.js';

// `npm run test:restarts`: the bus sinks' broker kill-and-restart scenarios, one file at a time, after the
// main suite (.ci/run), apart from the suite's parallel load.
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ['packages/*/test/*-restart.int.test.ts'],
    exclude: [...configDefaults.exclude],
    fileParallelism: false,
  },
});
