import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { Logger } from '../../../../libs/logging/src';
import { LOGGER, REDIS } from '../../../../libs/platform/src';
import { RunKeys, TerminalStateCache } from '../../../../libs/runs/src';

/**
 * Drops deleted runs from this API's terminal-state cache: a run deleted by another process
 * (the reaper's retention sweep in a worker, another API) would otherwise still answer its
 * cached state at /status. A deletion published while this connection is down is missed;
 * that run's /status stays cached until the process restarts (GET /runs/{id} reads Redis: 404).
 */
@Injectable()
export class DeletedRunsListener implements OnApplicationBootstrap, OnApplicationShutdown {
  private subscriber?: Redis;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    private readonly keys: RunKeys,
    private readonly cache: TerminalStateCache,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap() {
    this.subscriber = this.redis.duplicate({ connectionName: 'wes-api-deleted' });
    // ioredis reconnects by itself; without a listener its connection errors would be "unhandled".
    this.subscriber.on('error', (err: Error) => this.logger.debug({ err: err.message }, 'deleted-runs subscriber: Redis connection error'));
    this.subscriber.on('message', (_channel: string, runId: string) => this.cache.forget(runId));
    // Not awaited: the API starts while Redis is away too; ioredis subscribes once it is back.
    this.subscriber.subscribe(this.keys.deletedChannel).catch((err: Error) => this.logger.warn({ err: err.message }, 'deleted-runs subscriber: subscribe failed'));
  }

  onApplicationShutdown() {
    // Not quit(): it would wait for a Redis that may be gone; nothing is pending on this connection.
    this.subscriber?.disconnect();
  }
}
