import Fastify, { FastifyInstance } from 'fastify';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARD_CSP, DASHBOARD_PATH, serveDashboard } from './serve-dashboard';

const logger = pino({ level: 'silent' });
const dir = mkdtempSync(path.join(os.tmpdir(), 'wes-dashboard-'));
const INDEX = '<!doctype html><title>dash</title><script type="module" src="/ga4gh/wes/v1/ui/assets/index-abc123.js"></script>';
mkdirSync(path.join(dir, 'built', 'assets'), { recursive: true });
writeFileSync(path.join(dir, 'built', 'index.html'), INDEX);
writeFileSync(path.join(dir, 'built', 'favicon.svg'), '<svg/>');
writeFileSync(path.join(dir, 'built', 'assets', 'index-abc123.js'), 'console.log(1)');
writeFileSync(path.join(dir, 'secret.txt'), 'not served');

describe('serveDashboard (built files present)', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = Fastify();
    await serveDashboard(app, logger, path.join(dir, 'built'));
    await app.ready();
  });
  afterAll(() => app.close());

  it('serves hashed assets as immutable, with the CSP', async () => {
    const r = await app.inject(`${DASHBOARD_PATH}/assets/index-abc123.js`);
    expect(r.statusCode).toBe(200);
    expect(r.body).toBe('console.log(1)');
    expect(r.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(r.headers['content-type']).toMatch(/javascript/);
    expect(r.headers['content-security-policy']).toBe(DASHBOARD_CSP);
    expect(DASHBOARD_CSP).toContain("default-src 'self'");
  });

  it('serves index.html for / and for client routes, revalidated each time', async () => {
    for (const url of [`${DASHBOARD_PATH}/`, `${DASHBOARD_PATH}/runs/0190f0e0-0000-7000-8000-000000000000`, `${DASHBOARD_PATH}/submit`]) {
      const r = await app.inject(url);
      expect(r.statusCode, url).toBe(200);
      expect(r.body).toBe(INDEX);
      expect(r.headers['cache-control']).toBe('no-cache');
      expect(r.headers['content-type']).toMatch(/text\/html/);
      expect(r.headers['content-security-policy']).toBe(DASHBOARD_CSP);
    }
    const plain = await app.inject(`${DASHBOARD_PATH}/favicon.svg`);
    expect(plain.headers['cache-control']).toBe('no-cache');
  });

  it('redirects the bare path to the folder', async () => {
    const r = await app.inject(DASHBOARD_PATH);
    expect(r.statusCode).toBe(302);
    expect(r.headers.location).toBe(`${DASHBOARD_PATH}/`);
  });

  it('answers 404 (not the page) for a missing asset, and serves nothing outside its folder', async () => {
    for (const url of [`${DASHBOARD_PATH}/assets/index-old999.js`, `${DASHBOARD_PATH}/nope.css`, `${DASHBOARD_PATH}/../secret.txt`, `${DASHBOARD_PATH}/%2e%2e/secret.txt`]) {
      const r = await app.inject(url);
      expect(r.body, url).not.toContain('not served');
      if (url.includes('secret')) continue;
      expect(r.statusCode, url).toBe(404);
      expect(r.json()).toMatchObject({ status_code: 404 });
    }
  });
});

describe('serveDashboard (not built)', () => {
  it('starts anyway and answers 404 saying to run the build', async () => {
    const app = Fastify();
    await serveDashboard(app, logger, path.join(dir, 'missing'));
    await app.ready();
    const r = await app.inject(`${DASHBOARD_PATH}/`);
    expect(r.statusCode).toBe(404);
    expect(r.json()).toEqual({ msg: expect.stringContaining('npm run build'), status_code: 404 });
    await app.close();
  });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));
