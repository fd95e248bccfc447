import { DynamicModule, Global, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { WesSettings } from '../../config/src';
import { UrlFetcher } from '../../fetch/src';
import { createLogger, Logger } from '../../logging/src';
import { countRunDeletion, MetricProcess, watchRedisConnection, WesMetrics } from '../../metrics/src';
import { closeRedis, createRedis, ReplicaAck, RunQueues, WorkerPools, WorkerRegistry } from '../../queue/src';
import { RunDeleter, RunRecovery, RunRetention } from '../../recovery/src';
import { RunKeys, RunStore, TaskStore, TerminalStateCache, WorkflowStateMachine } from '../../runs/src';
import { createObjectStore, ObjectStore } from '../../storage/src';
import { ReadinessProbe } from './readiness';
import { createUrlFetcher } from './url-fetcher-factory';

/** Injection tokens of what the platform module provides that is not a class of its own. */
export const REDIS = Symbol('REDIS');
export const OBJECT_STORE = Symbol('OBJECT_STORE');
export const LOGGER = Symbol('LOGGER');

/** Closes the queues, then Redis, after every other shutdown hook (workers close before queues). */
@Injectable()
class ConnectionCloser implements OnApplicationShutdown {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    private readonly queues: RunQueues,
  ) {}
  async onApplicationShutdown() {
    // Both bounded: Redis may be unreachable (connection-closing.ts).
    await this.queues.close().catch(() => undefined);
    await closeRedis(this.redis);
  }
}

/**
 * What the API and the worker share: settings, the Redis connection, the run model, the object
 * store and the logger. Both apps import it, so they run one module graph's pieces in two modes.
 */
@Global()
@Module({})
export class PlatformModule {
  static forRoot(settings: WesSettings, processName: MetricProcess, logger?: Logger): DynamicModule {
    const log = logger ?? createLogger(processName, settings.logLevel);
    const metrics = new WesMetrics(processName);
    return {
      module: PlatformModule,
      providers: [
        { provide: WesSettings, useValue: settings },
        { provide: LOGGER, useValue: log },
        { provide: WesMetrics, useValue: metrics },
        {
          provide: REDIS,
          useFactory: () => {
            // Auto-pipelining: commands issued in the same event-loop turn (the status reads of
            // concurrent requests, say) leave in one write; bench scenario 2 measures it.
            const redis = createRedis(settings, { connectionName: `wes-${processName}` });
            // ioredis reconnects by itself (commands wait meanwhile); say so once per outage.
            let down = false;
            redis.on('error', (err: Error) => {
              if (!down) log.warn({ err: err.message }, 'Redis unreachable: reconnecting');
              down = true;
            });
            redis.on('ready', () => {
              if (down) log.info('Redis reachable again');
              down = false;
            });
            watchRedisConnection(metrics, redis, 'main');
            return redis;
          },
        },
        {
          provide: ReplicaAck,
          inject: [REDIS],
          useFactory: (redis: Redis) => new ReplicaAck(redis, settings.redisMinReplicasAck, settings.redisReplicaAckTimeoutMs),
        },
        { provide: RunKeys, useValue: new RunKeys(settings.keyPrefix) },
        { provide: TerminalStateCache, useValue: new TerminalStateCache() },
        {
          provide: WorkflowStateMachine,
          inject: [REDIS, RunKeys, TerminalStateCache],
          useFactory: (redis: Redis, keys: RunKeys, cache: TerminalStateCache) => new WorkflowStateMachine(redis, keys, cache),
        },
        { provide: RunStore, inject: [REDIS, RunKeys], useFactory: (redis: Redis, keys: RunKeys) => new RunStore(redis, keys) },
        { provide: TaskStore, inject: [REDIS, RunKeys], useFactory: (redis: Redis, keys: RunKeys) => new TaskStore(redis, keys) },
        {
          provide: WorkerRegistry,
          inject: [REDIS, RunKeys],
          useFactory: (redis: Redis, keys: RunKeys) => new WorkerRegistry(redis, keys, settings.heartbeatMs * 3),
        },
        { provide: OBJECT_STORE, useFactory: (): ObjectStore => createObjectStore(settings) },
        {
          provide: UrlFetcher,
          inject: [OBJECT_STORE],
          useFactory: (store: ObjectStore) => createUrlFetcher(settings, store),
        },
        // Checked when the app starts (main.ts builds the table once first, to exit with the reason).
        { provide: WorkerPools, useFactory: () => new WorkerPools(settings) },
        { provide: RunQueues, inject: [REDIS, WorkerPools], useFactory: (redis: Redis, pools: WorkerPools) => new RunQueues(redis, pools, settings) },
        {
          provide: RunDeleter,
          inject: [WorkflowStateMachine, OBJECT_STORE, REDIS, RunKeys],
          useFactory: (sm: WorkflowStateMachine, store: ObjectStore, redis: Redis, keys: RunKeys) => {
            const deleter = new RunDeleter(sm, store, redis, keys, log);
            deleter.onDeleted((reason) => countRunDeletion(metrics, reason));
            return deleter;
          },
        },
        {
          provide: RunRecovery,
          inject: [WorkflowStateMachine, RunStore, WorkerRegistry, RunQueues, REDIS, RunKeys, RunDeleter, OBJECT_STORE],
          useFactory: (
            sm: WorkflowStateMachine,
            runs: RunStore,
            workers: WorkerRegistry,
            queues: RunQueues,
            redis: Redis,
            keys: RunKeys,
            deleter: RunDeleter,
            store: ObjectStore,
          ) => new RunRecovery(settings, sm, runs, workers, queues, redis, keys, log, new RunRetention(settings, deleter, store, redis, keys, log)),
        },
        {
          provide: ReadinessProbe,
          inject: [REDIS, OBJECT_STORE],
          useFactory: (redis: Redis, store: ObjectStore) => new ReadinessProbe(redis, store),
        },
        ConnectionCloser,
      ],
      exports: [
        WesSettings,
        LOGGER,
        WesMetrics,
        ReadinessProbe,
        REDIS,
        ReplicaAck,
        RunKeys,
        TerminalStateCache,
        WorkflowStateMachine,
        RunStore,
        TaskStore,
        WorkerRegistry,
        OBJECT_STORE,
        UrlFetcher,
        WorkerPools,
        RunQueues,
        RunDeleter,
        RunRecovery,
      ],
    };
  }
}
