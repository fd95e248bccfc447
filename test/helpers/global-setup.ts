import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Output of a failed `tsc -p tsconfig.build.json`, or '' when dist/ is usable. */
    buildError: string;
  }
}

const ROOT = path.resolve(__dirname, '..', '..');
const ENTRY_POINTS = ['dist/apps/api/src/main.js', 'dist/apps/worker/src/main.js'].map((p) => path.join(ROOT, p));

function newestSource(dir: string): number {
  let newest = 0;
  if (!existsSync(dir)) return newest;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(full));
    else if (/\.ts$/.test(entry.name) && !/\.(spec|test)\.ts$/.test(entry.name)) newest = Math.max(newest, statSync(full).mtimeMs);
  }
  return newest;
}

/** True when both entry points exist and are newer than every source file and tsconfig. */
function distIsFresh(): boolean {
  if (!ENTRY_POINTS.every((p) => existsSync(p))) return false;
  const built = Math.min(...ENTRY_POINTS.map((p) => statSync(p).mtimeMs));
  const sources = Math.max(
    newestSource(path.join(ROOT, 'apps')),
    newestSource(path.join(ROOT, 'libs')),
    ...['tsconfig.json', 'tsconfig.build.json'].map((f) => statSync(path.join(ROOT, f)).mtimeMs),
  );
  return built >= sources;
}

/**
 * Builds dist/ once before the test files run, unless it is already newer than the sources
 * (`npm test` builds first) or WES_TEST_SKIP_BUILD=1. A failed build does not stop the unit
 * specs: it is handed to the e2e tests, which report it when they try to start the stack.
 */
export default function setup(project: TestProject): void {
  let buildError = '';
  if (process.env.WES_TEST_SKIP_BUILD !== '1' && !distIsFresh()) {
    const tsc = path.join(ROOT, 'node_modules', '.bin', 'tsc');
    const r = spawnSync(tsc, ['-p', 'tsconfig.build.json'], { cwd: ROOT, encoding: 'utf8' });
    if (r.status !== 0) {
      buildError = `tsc -p tsconfig.build.json failed (exit ${r.status ?? r.signal}):\n${r.stdout}${r.stderr}`.slice(0, 20_000);
    }
  }
  if (!buildError && !ENTRY_POINTS.every((p) => existsSync(p))) {
    buildError = `the build did not produce ${ENTRY_POINTS.filter((p) => !existsSync(p)).join(', ')}`;
  }
  project.provide('buildError', buildError);
}
