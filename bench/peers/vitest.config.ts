import { defineConfig } from 'vitest/config';

// The unit tests of the benchmark's own bookkeeping (no database): npm run -w @walbox/bench-peers test.
export default defineConfig({ test: { include: ['test/**/*.test.ts'] } });
