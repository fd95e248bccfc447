import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../../../../libs/logging/src';
import { routeLabel, WesMetrics } from '../../../../libs/metrics/src';
import { knownCaller } from '../auth/caller';
import { OPS_PATHS } from './ops-routes';

const REQUEST_ID_HEADER = 'x-request-id';

function setRequestId(request: FastifyRequest, reply: FastifyReply): void {
  if (!reply.hasHeader(REQUEST_ID_HEADER)) reply.header(REQUEST_ID_HEADER, request.id);
}

/**
 * One log line and the HTTP metrics for every request: method, route template, status,
 * duration, request id (the client's sane `x-request-id`, else ours; fastify's genReqId in
 * main.ts), and the user when the AuthGuard knew one. Every response, errors included, carries
 * the id back as `x-request-id`. Credentials in the URL (signed links) are redacted by the
 * logger; no header is logged. Returns the recording, for the replies of the router's own
 * errors (a bad URL), which run no hooks.
 */
export function observeRequests(fastify: FastifyInstance, logger: Logger, metrics: WesMetrics): (request: FastifyRequest, reply: FastifyReply) => void {
  // Set early (kept by error replies) and again just before sending (replies of the router's own errors).
  fastify.addHook('onRequest', async (request, reply) => setRequestId(request, reply));
  fastify.addHook('onSend', async (request, reply, payload) => {
    setRequestId(request, reply);
    return payload;
  });
  const record = (request: FastifyRequest, reply: FastifyReply) => {
    const route = routeLabel(request.routeOptions?.url);
    const status = String(reply.statusCode);
    const seconds = reply.elapsedTime / 1000;
    metrics.inc('httpRequests', { route, method: request.method, status });
    metrics.observe('httpDuration', { route, method: request.method, status }, seconds);
    const runId = (request.params as { run_id?: unknown } | undefined)?.run_id;
    const line = {
      reqId: request.id,
      method: request.method,
      route,
      url: request.url,
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 10) / 10,
      user: knownCaller(request)?.name,
      // A line about a run names it, as every run line does.
      runId: typeof runId === 'string' ? runId : undefined,
    };
    // Probes come every few seconds: their lines would drown the rest.
    if (OPS_PATHS.has(route)) logger.debug(line, 'request');
    else logger.info(line, 'request');
  };
  fastify.addHook('onResponse', async (request, reply) => record(request, reply));
  return record;
}
