import { defineConfig } from 'vitest/config';

/**
 * Tests that stop shared services (the PostgreSQL server) and so must run alone, one file
 * after another, after the main suite: `vitest run --config vitest.serial.config.ts`.
 */
export default defineConfig({
  test: {
    include: ['test/faults/serial/**/*.test.ts'],
    // The same PostgreSQL decision as the main suite (HERALD_TEST_POSTGRES_URL or the default URL).
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: false,
    maxWorkers: 1,
    pool: 'forks',
  },
});
