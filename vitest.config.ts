import { defineConfig } from 'vitest/config';

/**
 * Unit specs live beside the code (libs/**\/*.spec.ts); the end-to-end tests (test/**\/*.test.ts)
 * start a private redis-server, the API and a worker from dist/ for each file. Files run one at
 * a time: the e2e files start processes and the CI machine has two cores.
 */
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'libs/**/*.spec.ts', 'apps/**/*.spec.ts'],
    exclude: ['**/node_modules/**', 'dist/**'],
    environment: 'node',
    globalSetup: ['test/helpers/global-setup.ts'],
    fileParallelism: false,
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 180_000,
    teardownTimeout: 30_000,
    reporters: ['default'],
  },
});
