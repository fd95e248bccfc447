import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { Browser, chromium } from 'playwright-core';
import { ROOT } from './stack';

/** Debian's chromium (scripts/install-deps.sh --with-browser installs it). */
export const CHROMIUM = process.env.WES_TEST_CHROMIUM ?? '/usr/bin/chromium';
export const WEB_SOURCES = path.join(ROOT, 'apps', 'web');
export const WEB_DIST = path.join(ROOT, 'dist', 'web');

function newestFile(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestFile(full) : statSync(full).mtimeMs);
  }
  return newest;
}

/** Builds dist/web (vite) unless it is newer than every file of apps/web. */
export function ensureDashboardBuilt(): void {
  const index = path.join(WEB_DIST, 'index.html');
  if (existsSync(index) && statSync(index).mtimeMs >= newestFile(WEB_SOURCES)) return;
  const r = spawnSync(path.join(ROOT, 'node_modules', '.bin', 'vite'), ['build', '--config', 'apps/web/vite.config.mts', '--logLevel', 'warn'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`vite build failed (exit ${r.status ?? r.signal}):\n${r.stdout}${r.stderr}`);
}

/**
 * Headless chromium with the flags of the issue: no sandbox (CI containers), no GPU, and none
 * of its own network traffic (background requests, component updates, first-run pages), so
 * every request a test sees is the page's. Each launch uses a fresh temporary profile.
 */
export function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run scripts/install-deps.sh --with-browser (Debian's chromium)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
}
