import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { WesSettings } from '../../../../libs/config/src';
import type { Logger } from '../../../../libs/logging/src';
import { LOGGER, REDIS } from '../../../../libs/platform/src';
import { RunKeys, TerminalStateCache, TrackedRunCache, TrackedRunCacheEvent } from '../../../../libs/runs/src';

/** The API's TrackedRunCache (status polls and the AuthGuard's owner reads), over the shared connection's settings. */
export function trackedRunCache(redis: Redis, keys: RunKeys, terminal: TerminalStateCache, settings: WesSettings, logger: Logger): TrackedRunCache {
  const report = (event: TrackedRunCacheEvent) => {
    if (event.kind === 'serving') logger.debug('run cache: tracking on, polls served from memory');
    else if (event.kind === 'lost') logger.debug({ connection: event.connection, reason: event.reason }, 'run cache: connection lost, emptied; polls read Redis');
    else logger.warn({ err: event.err }, 'run cache: CLIENT TRACKING not enabled; polls read Redis');
  };
  return new TrackedRunCache(redis, keys, settings.runCacheEntries, terminal, report);
}

/** Opens the cache's two connections once the app is up, and closes them at shutdown. */
@Injectable()
export class RunCacheConnections implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(private readonly cache: TrackedRunCache) {}

  onApplicationBootstrap() {
    this.cache.start();
  }

  onApplicationShutdown() {
    this.cache.close();
  }
}
