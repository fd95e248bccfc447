import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
  healthcheck?: { test?: string | string[] };
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

const composeText = readFileSync(join(root, 'docker-compose.yml'), 'utf8');
const compose = yaml.load(composeText) as ComposeFile;
const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
/** The credentials file's example: NAME=value lines. */
const envExample = Object.fromEntries(
  readFileSync(join(root, '.env.example'), 'utf8')
    .split('\n')
    .filter((l) => /^[A-Z_][A-Z0-9_]*=/.test(l))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
);
const packageScripts: Record<string, string> = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts;

const composeInstalled = spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0;

/** The environment without the credentials a developer's shell may hold (they win over .env). */
function composeEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of Object.keys(envExample)) delete env[key];
  return env;
}

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

/** The variable a `${NAME}`, `${NAME:-x}` or `${NAME:?why}` reference names, or undefined for a literal. */
function variableOf(value: string | undefined): string | undefined {
  return /^\$\{([A-Z_][A-Z0-9_]*)(?:[:?-][^}]*)?\}$/.exec(value ?? '')?.[1];
}

/**
 * Why an image reference is not pinned, or undefined when it is: it must name its registry
 * (a host: docker.io, quay.io, ...) and an exact version (a digest, or a full version tag such
 * as 7.4.6, 24.11.1-bookworm-slim or MinIO's RELEASE.<date>), never latest or a moving major.
 */
function unpinned(ref: string): string | undefined {
  const [name, digest] = ref.split('@');
  const firstPart = name.split('/')[0];
  if (!name.includes('/') || !/[.:]/.test(firstPart)) return `${ref} names no registry host`;
  if (digest !== undefined) return /^sha256:[0-9a-f]{64}$/.test(digest) ? undefined : `${ref}: bad digest`;
  const tag = name.slice(name.lastIndexOf('/') + 1).split(':')[1];
  if (!tag) return `${ref} has no tag (latest)`;
  if (/^v?\d+\.\d+\.\d+([-.+][\w.-]+)?$/.test(tag) || /^RELEASE\.\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z$/.test(tag)) return undefined;
  return `${ref}: tag ${tag} is not an exact version`;
}

/** Image references of the Dockerfile's FROM lines (not those naming an earlier stage). */
function dockerfileImages(text: string): string[] {
  const stages = new Set<string>();
  const images: string[] = [];
  for (const m of text.matchAll(/^FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?/gim)) {
    if (!stages.has(m[1])) images.push(m[1]);
    if (m[2]) stages.add(m[2]);
  }
  return images;
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
    // With the example credentials file (a developer's own .env is not read).
    const out = execFileSync('docker-compose', ['--env-file', '.env.example', '-f', 'docker-compose.yml', 'config'], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: composeEnv(),
    });
    const resolved = yaml.load(out) as ComposeFile;
    expect(Object.keys(resolved.services).sort()).toEqual(['api', 'minio', 'minio-bucket', 'redis', 'worker']);
    // The credentials reached every service that needs them.
    const apiEnv = environmentOf(resolved.services.api);
    expect(apiEnv.REDIS_URL).toBe(`redis://:${envExample.WES_REDIS_PASSWORD}@redis:6379`);
    expect(words(resolved.services.redis.command)).toContain(envExample.WES_REDIS_PASSWORD);
    expect(apiEnv.WES_S3_SECRET_ACCESS_KEY).toBe(envExample.WES_S3_SECRET_ACCESS_KEY);
    expect(environmentOf(resolved.services.minio).MINIO_ROOT_PASSWORD).toBe(envExample.WES_S3_SECRET_ACCESS_KEY);
    expect(environmentOf(resolved.services.worker).WES_S3_ACCESS_KEY_ID).toBe(envExample.WES_S3_ACCESS_KEY_ID);
  });

  it('refuses to start without the credentials (no .env): `docker-compose config` names the missing one', (ctx) => {
    if (!composeInstalled) ctx.skip('docker-compose is not installed');
    const dir = mkdtempSync(join(tmpdir(), 'wes-compose-'));
    const emptyEnvFile = join(dir, 'empty.env');
    writeFileSync(emptyEnvFile, '');
    const r = spawnSync('docker-compose', ['--env-file', emptyEnvFile, '-f', 'docker-compose.yml', 'config'], { cwd: root, encoding: 'utf8', env: composeEnv() });
    rmSync(dir, { recursive: true, force: true });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/WES_REDIS_PASSWORD|WES_S3_ACCESS_KEY_ID|WES_S3_SECRET_ACCESS_KEY/);
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
    expect(apiEnv.REDIS_URL).toMatch(/^redis:\/\/:\$\{WES_REDIS_PASSWORD:\?[^}]*\}@redis:6379$/);
    expect(words(compose.services.redis.command)).toEqual(expect.arrayContaining(['--requirepass', '${WES_REDIS_PASSWORD}']));
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
    expect(variableOf(minio.MINIO_ROOT_USER)).toBe(variableOf(apiEnv.WES_S3_ACCESS_KEY_ID));
    expect(variableOf(minio.MINIO_ROOT_PASSWORD)).toBe(variableOf(apiEnv.WES_S3_SECRET_ACCESS_KEY));
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

  it('pins every image (compose and Dockerfile) to an exact version from a named registry', () => {
    const refs = [
      ...Object.values(compose.services)
        .filter((svc) => svc.build === undefined)
        .map((svc) => svc.image ?? ''),
      ...dockerfileImages(dockerfile),
    ];
    expect(refs.length).toBeGreaterThanOrEqual(4);
    expect(refs.map(unpinned).filter(Boolean)).toEqual([]);
    // The image built here is tagged, though not pulled: never `latest`.
    for (const svc of Object.values(compose.services).filter((x) => x.build !== undefined)) expect(svc.image ?? '').not.toMatch(/:latest$|^[^:]*$/);
    // The check itself refuses what it must.
    for (const bad of ['redis:7', 'minio/minio:latest', 'docker.io/library/redis:7', 'docker.io/library/node:24-bookworm-slim', 'quay.io/minio/mc', 'node:24.11.1']) {
      expect(unpinned(bad), bad).toBeDefined();
    }
    expect(unpinned('docker.io/library/redis@sha256:' + 'a'.repeat(64))).toBeUndefined();
  });

  it('publishes the API on the loopback only, and no other service on the host', () => {
    const { api } = compose.services;
    expect(api.ports).toEqual(['127.0.0.1:8080:8080']);
    for (const [name, svc] of Object.entries(compose.services)) if (name !== 'api') expect(svc.ports ?? [], name).toEqual([]);
  });

  it('checks the health of the API and the workers on their /readyz, and gives each worker a scratch volume', () => {
    const { api, worker } = compose.services;
    expect(JSON.stringify(api.healthcheck?.test)).toContain('http://127.0.0.1:8080/readyz');
    expect(environmentOf(worker).WES_WORKER_HTTP_PORT).toBe('9464');
    expect(JSON.stringify(worker.healthcheck?.test)).toContain('http://127.0.0.1:9464/readyz');
    // The image's own HEALTHCHECK (docker run without compose) probes the API's /readyz too.
    expect(dockerfile).toMatch(/^HEALTHCHECK [^\n]*\\\n\s+CMD \["node", "-e", "fetch\('http:\/\/127\.0\.0\.1:' \+ \(process\.env\.WES_PORT \|\| 8080\) \+ '\/readyz'\)/m);
    const scratch = environmentOf(worker).WES_WORK_DIR;
    expect(scratch).toBe('/data/work');
    const mounts = (worker.volumes ?? []).map((v) => (typeof v === 'string' ? v.split(':') : [v.source ?? '', v.target ?? '']));
    // An anonymous volume (one per container, so scaled workers share none) or a named one.
    expect(mounts.some((m) => (m.length === 1 ? m[0] : m[1]) === scratch), JSON.stringify(worker.volumes)).toBe(true);
  });

  it('holds no secret: every credential comes from .env, whose example holds them all', () => {
    const secretKey = /PASSWORD|SECRET|TOKEN|ACCESS_KEY|_AUTH$|ROOT_USER/;
    for (const [name, svc] of Object.entries(compose.services)) {
      for (const [key, value] of Object.entries(environmentOf(svc))) {
        if (secretKey.test(key)) expect(variableOf(value), `${name}: ${key}=${value}`).toBeDefined();
        // A URL's password (REDIS_URL) is a variable too.
        expect(value, `${name}: ${key}`).not.toMatch(/:\/\/[^:/@]*:(?!\$\{)[^@]+@/);
      }
      for (const w of [...words(svc.command), ...words(svc.entrypoint)]) expect(w, `${name}: a password on its command line`).not.toMatch(/:\/\/[^:/]*:[^@$]+@/);
    }
    const used = new Set([...composeText.matchAll(/\$\{([A-Z_][A-Z0-9_]*)/g)].map((m) => m[1]));
    expect(Object.keys(envExample).sort()).toEqual([...used].sort());
    for (const value of Object.values(envExample)) expect(composeText, `the value ${value} of .env.example`).not.toContain(value);
  });
});
