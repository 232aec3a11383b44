import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // These stop shared services (the PostgreSQL server): vitest.serial.config.ts runs them alone.
    exclude: [...configDefaults.exclude, 'test/faults/serial/**'],
    // Turns the PostgreSQL tests on when a server answers (and says so when they are skipped).
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: a few files at a time keeps real receivers and databases responsive.
    maxWorkers: 2,
    pool: 'forks',
  },
});
