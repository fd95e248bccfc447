import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';

/**
 * docker-compose.yml must stay valid and must start the parts through npm scripts that exist.
 * No Docker engine is needed: `docker-compose config` only validates and resolves the file.
 */

const root = join(__dirname, '..');

interface ComposeService {
  build?: unknown;
  image?: string;
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Record<string, string> | string[];
  volumes?: (string | { source?: string; target?: string })[];
  ports?: unknown[];
  container_name?: string;
  security_opt?: string[];
  privileged?: boolean;
  cap_add?: string[];
}

interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

const compose = yaml.load(readFileSync(join(root, 'docker-compose.yml'), 'utf8')) as ComposeFile;
const packageScripts: Record<string, string> = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts;

const composeInstalled = spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0;

function words(command: string | string[] | undefined): string[] {
  if (command === undefined) return [];
  return Array.isArray(command) ? command.map(String) : command.trim().split(/\s+/);
}

/** The npm script a service's command runs (`npm run <name>`), or undefined. */
function npmScriptOf(service: ComposeService): string | undefined {
  const w = words(service.command);
  const npm = w.findIndex((x) => x === 'npm' || x.endsWith('/npm'));
  if (npm < 0) return undefined;
  if (w[npm + 1] === 'run' || w[npm + 1] === 'run-script') return w[npm + 2];
  if (w[npm + 1] === 'start') return 'start';
  return undefined;
}

function environmentOf(service: ComposeService): Record<string, string> {
  const env = service.environment ?? {};
  if (!Array.isArray(env)) return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)]));
  return Object.fromEntries(env.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
}

/** Mount target -> source of a service's volumes (short or long syntax). */
function mountsOf(service: ComposeService): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of service.volumes ?? []) {
    if (typeof v === 'string') {
      const [source, target] = v.split(':');
      out[target] = source;
    } else if (v.target) {
      out[v.target] = v.source ?? '';
    }
  }
  return out;
}

describe('docker-compose.yml', () => {
  it('is accepted by `docker-compose config`', (ctx) => {
    if (!composeInstalled) {
      ctx.skip('docker-compose is not installed (scripts/test.sh installs it: `npm test`, or `bash scripts/install-deps.sh --with-compose`)');
    }
    const out = execFileSync('docker-compose', ['-f', 'docker-compose.yml', 'config'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const resolved = yaml.load(out) as ComposeFile;
    expect(Object.keys(resolved.services).sort()).toEqual(['api', 'minio', 'minio-bucket', 'redis', 'worker']);
  });

  it.each([
    ['api', 'dist/apps/api/src/main.js'],
    ['worker', 'dist/apps/worker/src/main.js'],
  ])('%s runs an npm script of package.json that starts %s', (name, entryPoint) => {
    const service = compose.services[name];
    expect(service, `service ${name}`).toBeDefined();
    const script = npmScriptOf(service);
    expect(script, `command of ${name} (${JSON.stringify(service.command)}) should be "npm run <script>"`).toBeDefined();
    expect(Object.keys(packageScripts), `package.json scripts`).toContain(script);
    expect(packageScripts[script!]).toMatch(new RegExp(`\\bnode\\b.*${entryPoint.replace(/[.]/g, '\\.')}`));
  });

  it('api and worker use the same image, Redis and S3 object store, and share no volume', () => {
    const { api, worker } = compose.services;
    expect(worker.image ?? worker.build).toEqual(api.image ?? api.build);
    const apiEnv = environmentOf(api);
    const workerEnv = environmentOf(worker);
    // Redis asks for a password (WES_REDIS_PASSWORD), the one its command is given.
    const password = '${WES_REDIS_PASSWORD:-change-this-redis-password}';
    expect(apiEnv.REDIS_URL).toBe(`redis://:${password}@redis:6379`);
    expect(words(compose.services.redis.command)).toEqual(expect.arrayContaining(['--requirepass', password]));
    expect(workerEnv.REDIS_URL).toBe(apiEnv.REDIS_URL);
    for (const key of ['WES_OBJECT_STORE', 'WES_S3_ENDPOINT', 'WES_S3_BUCKET', 'WES_S3_ACCESS_KEY_ID', 'WES_S3_SECRET_ACCESS_KEY']) {
      expect(apiEnv[key], key).toBeTruthy();
      expect(workerEnv[key], key).toBe(apiEnv[key]);
    }
    expect(apiEnv.WES_OBJECT_STORE).toBe('s3');
    expect(apiEnv.WES_S3_ENDPOINT).toBe('http://minio:9000');
    // Nothing passes between them through a mounted folder.
    const shared = Object.values(mountsOf(api)).filter((v) => Object.values(mountsOf(worker)).includes(v));
    expect(shared).toEqual([]);
    const minio = environmentOf(compose.services.minio);
    expect(minio.MINIO_ROOT_USER).toBe(apiEnv.WES_S3_ACCESS_KEY_ID);
    expect(JSON.stringify(compose.services['minio-bucket'].entrypoint)).toContain(`local/${apiEnv.WES_S3_BUCKET}`);
  });

  it('worker can be scaled (no container_name, no fixed host ports)', () => {
    const { worker } = compose.services;
    expect(worker.container_name).toBeUndefined();
    expect(worker.ports ?? []).toEqual([]);
  });

  it("lets the worker's engines make their sandbox's namespaces (and gives the API nothing of that)", () => {
    const { worker, api } = compose.services;
    expect(worker.security_opt).toEqual(expect.arrayContaining(['seccomp=unconfined', 'apparmor=unconfined', 'systempaths=unconfined']));
    expect(worker.privileged ?? false).toBe(false);
    expect(worker.cap_add ?? []).toEqual([]);
    expect(environmentOf(worker).WES_SANDBOX ?? 'bwrap').toBe('bwrap');
    expect(api.security_opt ?? []).toEqual([]);
  });

  it('redis keeps an append-only file on a named volume', () => {
    const { redis } = compose.services;
    const w = words(redis.command);
    const i = w.indexOf('--appendonly');
    expect(i, `redis command ${JSON.stringify(redis.command)} should hold --appendonly yes`).toBeGreaterThanOrEqual(0);
    expect(w[i + 1]).toBe('yes');
    const dataVolume = mountsOf(redis)['/data'];
    expect(Object.keys(compose.volumes ?? {})).toContain(dataVolume);
  });
});
