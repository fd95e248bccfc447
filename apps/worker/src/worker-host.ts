import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Job, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { hostname } from 'node:os';
import { WesSettings } from '../../../libs/config/src';
import { ENGINES, readEngineVersion } from '../../../libs/engines/src';
import type { Logger } from '../../../libs/logging/src';
import { LOGGER, REDIS } from '../../../libs/platform/src';
import { bullPrefix, createRedis, RunJobData, WorkerInfo, WorkerRegistry } from '../../../libs/queue/src';
import { RunKeys } from '../../../libs/runs/src';
import { RunExecutor } from './run-executor';
import { WORKER_ID } from './worker-identity';

const HEARTBEAT_MS = 10_000;

/** A worker that cannot run any engine would fail every run: it refuses to start instead. */
export class NoEngineError extends Error {
  override name = 'NoEngineError';
}

/**
 * Hosts the BullMQ Worker of this process. On start it detects its engines' versions, announces
 * itself (service-info lists what live workers detected), subscribes to cancel broadcasts, and
 * only then starts taking jobs. On shutdown it stops taking jobs before anything else closes.
 */
@Injectable()
export class WorkerHost implements OnApplicationBootstrap, OnApplicationShutdown {
  private worker?: Worker<RunJobData>;
  private subscriber?: Redis;
  private heartbeat?: NodeJS.Timeout;
  private info?: WorkerInfo;

  constructor(
    private readonly settings: WesSettings,
    private readonly executor: RunExecutor,
    private readonly registry: WorkerRegistry,
    private readonly keys: RunKeys,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(WORKER_ID) private readonly workerId: string,
  ) {}

  async onApplicationBootstrap() {
    const engines = await this.detectEngines();
    this.info = {
      workerId: this.workerId,
      host: hostname(),
      pid: process.pid,
      startedAt: new Date().toISOString(),
      concurrency: this.settings.workerConcurrency,
      engines,
    };
    await this.registry.announce(this.info);
    this.heartbeat = setInterval(() => {
      this.registry.announce(this.info!).catch((err) => this.logger.warn({ err }, 'heartbeat failed'));
    }, HEARTBEAT_MS);
    this.heartbeat.unref();

    this.worker = new Worker<RunJobData>(
      this.settings.queueName,
      (job: Job<RunJobData>, _token?: string, signal?: AbortSignal) =>
        this.executor.execute(job.data.runId, signal ?? new AbortController().signal),
      {
        connection: createRedis(this.settings.redisUrl, { connectionName: 'wes-worker-bull' }),
        prefix: bullPrefix(this.settings.keyPrefix),
        concurrency: this.settings.workerConcurrency,
        autorun: false,
      },
    );
    this.worker.on('error', (err) => this.logger.error({ err }, 'queue worker error'));

    this.subscriber = this.redis.duplicate({ connectionName: 'wes-worker-cancel' });
    await this.subscriber.subscribe(this.keys.cancelChannel);
    this.subscriber.on('message', (_channel: string, runId: string) => {
      // Only the worker holding the run has a job to abort; the others ignore it.
      if (this.worker?.cancelJob(runId, 'cancel requested')) this.logger.info({ runId }, 'cancel received');
    });

    void this.worker.run();
    this.logger.info({ workerId: this.workerId, engines, concurrency: this.settings.workerConcurrency }, 'worker taking runs');
  }

  private async detectEngines(): Promise<Record<string, string>> {
    const engines: Record<string, string> = {};
    const cwltool = ENGINES.cwltool;
    try {
      engines.cwltool = cwltool.parseVersion(await readEngineVersion(this.settings.cwltoolPath));
    } catch (err) {
      throw new NoEngineError(
        `cwltool cannot be run (WES_CWLTOOL_PATH=${this.settings.cwltoolPath}): ${(err as Error).message}. ` +
          'Install it (Debian: apt-get install cwltool) or point WES_CWLTOOL_PATH at it.',
      );
    }
    return engines;
  }

  async onApplicationShutdown() {
    if (this.heartbeat) clearInterval(this.heartbeat);
    await this.worker?.close();
    await this.subscriber?.quit().catch(() => undefined);
    await this.registry.withdraw(this.workerId).catch(() => undefined);
  }
}
