import { Inject, Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { WesSettings } from '../../../libs/config/src';
import type { Logger } from '../../../libs/logging/src';
import { WesMetrics } from '../../../libs/metrics/src';
import { LOGGER, METRICS_REFUSAL, metricsAllowed, ReadinessProbe } from '../../../libs/platform/src';
import { WorkerHost } from './worker-host';

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify(body));
}

/**
 * The worker's own small HTTP listener (node:http; WES_WORKER_HTTP_PORT, off when 0) for its
 * operators, never for WES clients: `/metrics`, `/healthz` (the process answers) and `/readyz`
 * (Redis and its scripts, the object store, engines detected, not draining). It starts before
 * the engines are detected (readyz says 503 until they are) and closes only once the drain is
 * over, so a probe sees a draining worker as not ready.
 */
@Injectable()
export class WorkerHttpServer implements OnModuleInit, OnApplicationShutdown {
  private server?: Server;

  constructor(
    private readonly settings: WesSettings,
    private readonly metrics: WesMetrics,
    private readonly probe: ReadinessProbe,
    private readonly host: WorkerHost,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async onModuleInit() {
    if (this.settings.workerHttpPort === 0) return;
    const server = createServer((req, res) => {
      this.handle(req, res).catch((err) => {
        this.logger.warn({ err, url: req.url }, 'worker HTTP request failed');
        if (!res.headersSent) sendJson(res, 500, { msg: 'internal error', status_code: 500 });
        else res.destroy();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.settings.workerHttpPort, this.settings.workerHttpHost, () => resolve());
    });
    this.server = server;
    this.logger.info({ host: this.settings.workerHttpHost, port: this.settings.workerHttpPort }, 'worker HTTP listening (metrics, healthz, readyz)');
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { msg: 'only GET', status_code: 405 }, { allow: 'GET, HEAD' });
    if (path === '/healthz') return sendJson(res, 200, { status: 'ok' });
    if (path === '/readyz') {
      const report = await this.probe.check(this.host.readinessChecks());
      return sendJson(res, report.ready ? 200 : 503, { status: report.ready ? 'ready' : 'not ready', checks: report.checks });
    }
    if (path === '/metrics') {
      if (!metricsAllowed(req.headers.authorization, this.settings.metricsToken)) {
        return sendJson(res, 401, METRICS_REFUSAL, { 'www-authenticate': 'Bearer realm="metrics"' });
      }
      const text = await this.metrics.text();
      res.writeHead(200, { 'content-type': this.metrics.contentType });
      res.end(text);
      return;
    }
    sendJson(res, 404, { msg: `no ${path} here: /metrics, /healthz, /readyz`, status_code: 404 });
  }

  async onApplicationShutdown() {
    if (!this.server) return;
    // Answering (readyz: 503) while the runs drain; closed after.
    await this.host.stopped;
    const server = this.server;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}
