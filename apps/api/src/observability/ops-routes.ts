import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { WesMetrics } from '../../../../libs/metrics/src';
import { METRICS_REFUSAL, metricsAllowed, ReadinessProbe } from '../../../../libs/platform/src';
import { RunQueues } from '../../../../libs/queue/src';
import { RunStore } from '../../../../libs/runs/src';

/** The operator's endpoints, at the port's root (outside the WES base path) and without WES auth. */
export const OPS_PATHS: ReadonlySet<string> = new Set(['/metrics', '/healthz', '/readyz']);

export interface OpsRouteDeps {
  metrics: WesMetrics;
  probe: ReadinessProbe;
  runs: RunStore;
  queues: RunQueues;
  /** WES_METRICS_TOKEN: when set, /metrics wants it as a bearer token. */
  metricsToken?: string;
}

/**
 * `/metrics` (Prometheus text; runs by state from the counters and each pool's queue depth read
 * at scrape), `/healthz` (the process answers: always 200) and `/readyz` (Redis, its scripts,
 * the object store: 200, else 503 with each check's outcome). Registered on Fastify itself, so
 * neither the WES prefix nor the AuthGuard applies.
 */
export function registerOpsRoutes(fastify: FastifyInstance, deps: OpsRouteDeps): void {
  const { metrics } = deps;
  // While Redis is away these two are left out of the page (the rest, its error counts among them, is served).
  metrics.collect('runsByState', async (set) => {
    if (!deps.probe.redisReady) return;
    for (const [state, n] of Object.entries(await deps.runs.counts())) set({ state }, n);
  });
  metrics.collect('queueJobs', async (set) => {
    if (!deps.probe.redisReady) return;
    for (const d of await deps.queues.depths()) {
      set({ pool: d.pool, status: 'waiting' }, d.waiting);
      set({ pool: d.pool, status: 'active' }, d.active);
      set({ pool: d.pool, status: 'delayed' }, d.delayed);
    }
  });
  fastify.get('/metrics', async (request: FastifyRequest, reply: FastifyReply) => {
    if (!metricsAllowed(request.headers.authorization, deps.metricsToken)) {
      return reply.code(401).header('www-authenticate', 'Bearer realm="metrics"').send(METRICS_REFUSAL);
    }
    try {
      return reply.type(metrics.contentType).send(await metrics.text());
    } catch (err) {
      // A figure read at scrape (Redis away): say so rather than half a page.
      return reply.code(503).send({ msg: `metrics unavailable: ${(err as Error).message}`, status_code: 503 });
    }
  });
  fastify.get('/healthz', async (_request, reply) => reply.send({ status: 'ok' }));
  fastify.get('/readyz', async (_request, reply) => {
    const report = await deps.probe.check();
    return reply.code(report.ready ? 200 : 503).send({ status: report.ready ? 'ready' : 'not ready', checks: report.checks });
  });
}
