import { DynamicModule, Global, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { WesSettings } from '../../config/src';
import { createLogger, Logger } from '../../logging/src';
import { createRedis, WorkerRegistry } from '../../queue/src';
import { RunKeys, RunStore, TerminalStateCache, WorkflowStateMachine } from '../../runs/src';
import { LocalObjectStore, ObjectStore } from '../../storage/src';

/** Injection tokens of what the platform module provides that is not a class of its own. */
export const REDIS = Symbol('REDIS');
export const OBJECT_STORE = Symbol('OBJECT_STORE');
export const LOGGER = Symbol('LOGGER');

@Injectable()
class RedisCloser implements OnApplicationShutdown {
  constructor(@Inject(REDIS) private readonly redis: Redis) {}
  async onApplicationShutdown() {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

/**
 * What the API and the worker share: settings, the Redis connection, the run model, the object
 * store and the logger. Both apps import it, so they run one module graph's pieces in two modes.
 */
@Global()
@Module({})
export class PlatformModule {
  static forRoot(settings: WesSettings, processName: string, logger?: Logger): DynamicModule {
    const log = logger ?? createLogger(processName, settings.logLevel);
    return {
      module: PlatformModule,
      providers: [
        { provide: WesSettings, useValue: settings },
        { provide: LOGGER, useValue: log },
        { provide: REDIS, useFactory: () => createRedis(settings.redisUrl, { connectionName: `wes-${processName}` }) },
        { provide: RunKeys, useValue: new RunKeys(settings.keyPrefix) },
        { provide: TerminalStateCache, useValue: new TerminalStateCache() },
        {
          provide: WorkflowStateMachine,
          inject: [REDIS, RunKeys, TerminalStateCache],
          useFactory: (redis: Redis, keys: RunKeys, cache: TerminalStateCache) => new WorkflowStateMachine(redis, keys, cache),
        },
        { provide: RunStore, inject: [REDIS, RunKeys], useFactory: (redis: Redis, keys: RunKeys) => new RunStore(redis, keys) },
        {
          provide: WorkerRegistry,
          inject: [REDIS, RunKeys],
          useFactory: (redis: Redis, keys: RunKeys) => new WorkerRegistry(redis, keys),
        },
        { provide: OBJECT_STORE, useFactory: (): ObjectStore => new LocalObjectStore(settings.dataDir) },
        RedisCloser,
      ],
      exports: [WesSettings, LOGGER, REDIS, RunKeys, TerminalStateCache, WorkflowStateMachine, RunStore, WorkerRegistry, OBJECT_STORE],
    };
  }
}
