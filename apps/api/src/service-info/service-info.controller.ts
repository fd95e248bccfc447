import { Controller, Get, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { WesSettings } from '../../../../libs/config/src';
import { ENGINES, supportedWorkflowTypes } from '../../../../libs/engines/src';
import { UrlFetcher } from '../../../../libs/fetch/src';
import { WorkerPools, WorkerRegistry } from '../../../../libs/queue/src';
import { RunStore } from '../../../../libs/runs/src';
import { Public } from '../auth/public.decorator';
import { wesBaseUrl } from '../common/base-url';
import { WorkflowAllowList } from '../runs/workflow-allow-list';
import { SERVICE_VERSION } from '../version';

/** Public, whatever authMode: it tells a client how to authenticate (auth_instructions_url). */
@Public()
@Controller()
export class ServiceInfoController {
  constructor(
    private readonly settings: WesSettings,
    private readonly runs: RunStore,
    private readonly workers: WorkerRegistry,
    private readonly fetcher: UrlFetcher,
    private readonly allowList: WorkflowAllowList,
    private readonly pools: WorkerPools,
  ) {}

  @Get('service-info')
  async getServiceInfo(@Req() req: FastifyRequest) {
    const [counts, workers] = await Promise.all([this.runs.counts(), this.workers.live()]);
    const engineVersions = WorkerRegistry.engineVersionsOf(workers);
    const perPool = WorkerRegistry.workersPerPool(workers, this.pools.names);
    const base = wesBaseUrl(this.settings, req);
    return {
      id: 'org.ga4gh.wes-server',
      name: 'WES server',
      type: { group: 'org.ga4gh', artifact: 'wes', version: '1.1.0' },
      description: 'GA4GH Workflow Execution Service on a BullMQ worker pool',
      organization: { name: this.settings.organizationName, url: this.settings.organizationUrl },
      documentationUrl: `${base}/docs`,
      version: SERVICE_VERSION,
      // From the engines live workers detected, as workflow_engine_versions: what a run can be run
      // by now (a run of another type the API accepts waits QUEUED for a worker that runs it).
      workflow_type_versions: Object.fromEntries(
        Object.entries(supportedWorkflowTypes(Object.keys(engineVersions))).map(([type, versions]) => [type, { workflow_type_version: versions }]),
      ),
      supported_wes_versions: ['1.1.0'],
      // What workflow_url and input locations may use besides attachment names (relative paths).
      supported_filesystem_protocols: this.fetcher.protocols,
      workflow_engine_versions: Object.fromEntries(
        Object.entries(engineVersions).map(([engine, versions]) => [engine, { workflow_engine_version: versions }]),
      ),
      default_workflow_engine_parameters: Object.values(ENGINES).flatMap((engine) =>
        engine.parameters.map((p) => ({ name: p.name, type: p.type, default_value: p.default_value })),
      ),
      system_state_counts: counts,
      auth_instructions_url: this.settings.authInstructionsUrl || `${base}/docs`,
      tags: { live_workers: String(workers.length) },
      // An extension field (ServiceInfo allows more properties): the pools, the engines each runs
      // (the pool of an engine's runs unless the client names one by wes:pool), and how many live
      // workers serve it; a pool without any keeps its runs QUEUED.
      worker_pools: Object.fromEntries(
        this.pools.all.map((p) => [
          p.name,
          {
            engines: p.engines,
            default_for: p.engines.filter((e) => this.pools.defaultOf(e) === p.name),
            concurrency_per_worker: p.concurrency,
            live_workers: perPool[p.name],
          },
        ]),
      ),
      // An extension field (ServiceInfo allows more properties); absent when the list is off.
      ...(this.allowList.enabled ? { workflow_allow_list: this.allowList.describe() } : {}),
    };
  }
}
