import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { WES_BASE_PATH } from '../common/base-url';

/** Where the browser finds the dashboard. */
export const DASHBOARD_PATH = `${WES_BASE_PATH}/ui`;

/** Where `npm run build` (vite build) puts it: dist/web, beside dist/apps. */
export const DASHBOARD_DIR = path.resolve(__dirname, '..', '..', '..', '..', 'web');

/**
 * The page loads only what it came with (no inline script, nothing from elsewhere) and talks
 * only to this origin; it cannot be framed.
 */
export const DASHBOARD_CSP = "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'";

/** Vite's hashed file names never change content: cached for a year. */
const IMMUTABLE = 'public, max-age=31536000, immutable';

/** Every file under `dir`, as relative paths with `/`. */
function filesUnder(dir: string): Set<string> {
  const out = new Set<string>();
  const walk = (rel: string) => {
    for (const e of readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const name = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(name);
      else if (e.isFile()) out.add(name);
    }
  };
  walk('');
  return out;
}

function notFound(reply: FastifyReply, msg: string) {
  return reply.code(404).header('cache-control', 'no-cache').type('application/json; charset=utf-8').send({ msg, status_code: 404 });
}

/**
 * Serves the web dashboard's built files under /ga4gh/wes/v1/ui/. These routes are the
 * Fastify instance's own, outside Nest, so no AuthGuard: the page holds no data, and its JSON
 * calls carry the user's bearer token. Hashed assets are immutable; everything else
 * (index.html, answered for every client route too) is revalidated each time. The files are
 * listed once at start-up: only those are served, whatever the URL says. Without a build, the
 * API still starts and the dashboard's URLs answer 404 saying how to build it.
 */
export async function serveDashboard(fastify: FastifyInstance, logger: Logger, dir = DASHBOARD_DIR): Promise<void> {
  const built = existsSync(path.join(dir, 'index.html'));
  const files = built ? filesUnder(dir) : new Set<string>();
  if (built) {
    // Only reply.sendFile: the routes are below, so the fallback and headers are ours.
    await fastify.register(fastifyStatic, { root: dir, serve: false, cacheControl: false, index: false, dotfiles: 'deny' });
  } else {
    logger.warn({ dir }, 'the web dashboard is not built (npm run build): /ui/ answers 404');
  }
  fastify.get(DASHBOARD_PATH, (_req, reply) => reply.redirect(`${DASHBOARD_PATH}/`, 302));
  fastify.get(`${DASHBOARD_PATH}/*`, (req, reply) => {
    reply.header('content-security-policy', DASHBOARD_CSP).header('x-content-type-options', 'nosniff').header('referrer-policy', 'no-referrer');
    if (!built) return notFound(reply, `the web dashboard is not built: run npm run build (it writes ${dir})`);
    const file = (req.params as Record<string, string>)['*'] ?? '';
    if (files.has(file)) {
      reply.header('cache-control', file.startsWith('assets/') ? IMMUTABLE : 'no-cache');
      return reply.sendFile(file);
    }
    // A missing asset (an old hash after an upgrade) or file is a 404, not the page.
    if (file.startsWith('assets/') || /\.[a-z0-9]+$/i.test(file)) return notFound(reply, `the dashboard has no file ${file}`);
    // A client route (runs/<id>, submit, ...): the page, which routes itself.
    return reply.header('cache-control', 'no-cache').sendFile('index.html');
  });
}
