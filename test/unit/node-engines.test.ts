import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * package.json promises Node 20.19+, 22.12+ and 24+ (execa 9 needs require(esm), on by default
 * from 20.19 and 22.12). Every package the lock file installs on the machines we build and run on
 * must accept the first release of each of those lines: a dependency (the AWS SDK drops old Node
 * lines now and then) that refuses one of them would break the server there.
 */

const root = path.join(__dirname, '..', '..');
// npm's own range matcher (a dependency of several of ours); it ships no type declarations.
const semver = createRequire(__filename)('semver') as { satisfies(version: string, range: string): boolean };
const MINIMUMS = ['20.19.0', '22.12.0', '24.0.0'];
/** CPUs the image and the developers' machines run on; a package only for others (wasm32) is never installed. */
const OUR_CPUS = ['x64', 'arm64'];

interface LockEntry {
  version?: string;
  engines?: { node?: string } | string[];
  cpu?: string[];
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

const packageJson = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const lock = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };

function runsOnOurCpus(entry: LockEntry): boolean {
  if (!entry.cpu) return true;
  const allowed = entry.cpu.filter((c) => !c.startsWith('!'));
  const denied = entry.cpu.filter((c) => c.startsWith('!')).map((c) => c.slice(1));
  return OUR_CPUS.some((c) => (allowed.length === 0 || allowed.includes(c)) && !denied.includes(c));
}

/** Where Node's lookup finds `name` from the package at `from` (nearest node_modules up the tree). */
function resolve(from: string, name: string): string | undefined {
  let dir = from;
  for (;;) {
    const candidate = dir ? `${dir}/node_modules/${name}` : `node_modules/${name}`;
    if (candidate in lock.packages) return candidate;
    if (!dir) return undefined;
    const up = dir.lastIndexOf('/node_modules/');
    dir = up < 0 ? '' : dir.slice(0, up);
  }
}

/** Lock paths of every package installed on our CPUs, from package.json's dependencies down. */
function installedPackages(): string[] {
  const seen = new Set<string>();
  const visit = (from: string, deps: Record<string, string> | undefined) => {
    for (const name of Object.keys(deps ?? {})) {
      const at = resolve(from, name);
      if (!at || seen.has(at) || !runsOnOurCpus(lock.packages[at])) continue;
      seen.add(at);
      const entry = lock.packages[at];
      visit(at, { ...entry.dependencies, ...entry.optionalDependencies, ...entry.peerDependencies });
    }
  };
  const top = lock.packages[''];
  visit('', { ...top.dependencies, ...top.devDependencies, ...top.optionalDependencies });
  return [...seen].sort();
}

describe('Node versions', () => {
  it('package.json engines accepts 20.19+, 22.12+ and 24+, and refuses the lines without require(esm) by default', () => {
    const range = packageJson.engines.node as string;
    for (const v of [...MINIMUMS, '20.20.2', '22.22.0', '24.11.1', '26.0.0']) expect(semver.satisfies(v, range), `${v} in ${range}`).toBe(true);
    for (const v of ['18.20.0', '20.18.3', '21.7.0', '22.11.0', '23.11.0']) expect(semver.satisfies(v, range), `${v} in ${range}`).toBe(false);
    expect(lock.packages[''].engines).toEqual(packageJson.engines);
  });

  it('every package the lock file installs accepts each minimum', () => {
    const installed = installedPackages();
    // The walk reached the dependencies that matter (a broken walk would check nothing).
    for (const name of ['@aws-sdk/client-s3', '@aws-sdk/lib-storage', 'bullmq', 'execa', 'fastify', 'vitest']) {
      expect(installed, name).toContain(`node_modules/${name}`);
    }
    expect(installed.length).toBeGreaterThan(200);
    const refusing: string[] = [];
    for (const at of installed) {
      const engines = lock.packages[at].engines;
      const node = Array.isArray(engines) ? undefined : engines?.node;
      if (!node) continue;
      for (const v of MINIMUMS) {
        if (!semver.satisfies(v, node)) refusing.push(`${at.replace(/^.*node_modules\//, '')}@${lock.packages[at].version} wants node ${node}, not ${v}`);
      }
    }
    expect(refusing).toEqual([]);
  });

  it('the check itself catches a package that refuses a minimum', () => {
    expect(semver.satisfies('22.12.0', '^20.19.0 || ^22.13.0 || >=23.5.0')).toBe(false);
    expect(runsOnOurCpus({ cpu: ['wasm32'] })).toBe(false);
    expect(runsOnOurCpus({ cpu: ['x64'] })).toBe(true);
  });
});
