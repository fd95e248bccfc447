import { defineConfig } from 'vitest/config';

/**
 * Unit specs live beside the code (libs/**\/*.spec.ts); the end-to-end tests (test/**\/*.test.ts)
 * start a private redis-server, the API and a worker from dist/ for each file, each on free ports
 * with its own key prefix, queue name and temporary folders, so files can run side by side.
 *
 * Most e2e files spend their time waiting (engines running, reaper and heartbeat intervals), so
 * they run in two forks at once (project `parallel`; WES_TEST_FORKS=N for N forks, 1 for one
 * file at a time). The files that assert how long something takes against a bound (cancel
 * latency, shutdown and recovery deadlines) run afterwards, one at a time and alone on the
 * machine (project `serial`), as every file did before.
 */
const SERIAL = [
  // Bounds on re-run and reaper delays after a SIGKILL.
  'test/e2e/worker-crash.test.ts',
  // An idle worker must exit within 5 s of SIGTERM; drain deadlines.
  'test/e2e/graceful-shutdown.test.ts',
  // Cancel latency within the grace period + 6 s.
  'test/e2e/cancel.test.ts',
  // fast-check for a fixed time must get through at least 100 scenarios: CPU-bound.
  'libs/runs/src/workflow-state-machine.property.spec.ts',
];

const forks = Number(process.env.WES_TEST_FORKS ?? 2);
if (!Number.isInteger(forks) || forks < 1) throw new Error(`WES_TEST_FORKS=${process.env.WES_TEST_FORKS}: must be a whole number of forks, at least 1`);

export default defineConfig({
  test: {
    exclude: ['**/node_modules/**', 'dist/**'],
    environment: 'node',
    globalSetup: ['test/helpers/global-setup.ts'],
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 180_000,
    teardownTimeout: 30_000,
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: {
          name: 'parallel',
          include: ['test/**/*.test.ts', 'libs/**/*.spec.ts', 'apps/**/*.spec.ts'],
          exclude: ['**/node_modules/**', 'dist/**', ...SERIAL],
          maxWorkers: forks,
          // Projects run side by side unless ordered: this group first, then `serial` alone.
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'serial',
          include: SERIAL,
          maxWorkers: 1,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
