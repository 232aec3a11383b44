import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: a few files at a time keeps real receivers and databases responsive.
    maxWorkers: 2,
    pool: 'forks',
  },
});
