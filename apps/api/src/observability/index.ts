import type { FastifyReply, FastifyRequest } from 'fastify';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { WesSettings } from '../../../../libs/config/src';
import type { Logger } from '../../../../libs/logging/src';
import { WesMetrics } from '../../../../libs/metrics/src';
import { ReadinessProbe } from '../../../../libs/platform/src';
import { RunQueues } from '../../../../libs/queue/src';
import { RunStore } from '../../../../libs/runs/src';
import { registerOpsRoutes } from './ops-routes';
import { observeRequests } from './request-observer';

export { OPS_PATHS } from './ops-routes';

/**
 * Request logs, request ids and HTTP metrics on every route; /metrics, /healthz and /readyz at
 * the root. Returns what records a request the router refused itself (its hooks do not run).
 */
export function installObservability(app: NestFastifyApplication, settings: WesSettings, logger: Logger): (request: FastifyRequest, reply: FastifyReply) => void {
  const fastify = app.getHttpAdapter().getInstance();
  const metrics = app.get(WesMetrics);
  const record = observeRequests(fastify, logger, metrics);
  registerOpsRoutes(fastify, {
    metrics,
    probe: app.get(ReadinessProbe),
    runs: app.get(RunStore),
    queues: app.get(RunQueues),
    metricsToken: settings.metricsToken,
  });
  return record;
}
