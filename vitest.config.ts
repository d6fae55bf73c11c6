import { defineConfig } from 'vitest/config';

// Two kinds of test: `unit` needs no services and runs in seconds; the rest talk to the real
// PostgreSQL (TEST_PG_URL) and Redis (TEST_REDIS_URL) that .ci/run starts.
export default defineConfig({
  test: {
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      {
        extends: true,
        test: {
          name: 'integration',
          globalSetup: ['test/global-setup.ts', 'test/helpers/log-secrets-setup.ts'],
          include: ['test/integration/**/*.test.ts', 'test/security/**/*.test.ts', 'test/faults/**/*.test.ts', 'test/fuzz/**/*.test.ts', 'test/contract/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
