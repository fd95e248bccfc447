import { DynamicModule, Module } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { WesSettings } from '../../../libs/config/src';
import type { Logger } from '../../../libs/logging/src';
import { PlatformModule, REDIS } from '../../../libs/platform/src';
import { RunKeys, TerminalStateCache, TrackedRunCache } from '../../../libs/runs/src';
import { ApiReaper } from './api-reaper';
import { AuthGuard } from './auth/auth.guard';
import { Authenticator } from './auth/authenticator';
import { LinkSigner } from './auth/link-signer';
import { ConnectionDraining } from './common/connection-draining';
import { ErrorResponseFilter } from './common/error-response.filter';
import { OpenApiController } from './docs/openapi.controller';
import { DeletedRunsListener } from './runs/deleted-runs-listener';
import { RunCacheConnections, trackedRunCache } from './runs/run-cache-connections';
import { RunFilesController } from './runs/run-files.controller';
import { RunsController } from './runs/runs.controller';
import { RunsService } from './runs/runs.service';
import { SubmitLimits } from './runs/submit-limits';
import { TasksController } from './runs/tasks.controller';
import { WorkflowAllowList } from './runs/workflow-allow-list';
import { WorkflowSources } from './runs/workflow-sources';
import { ServiceInfoController } from './service-info/service-info.controller';

/** The HTTP API: validates requests, records runs, queues their ids, reads state. */
@Module({})
export class ApiModule {
  static forRoot(settings: WesSettings, logger: Logger): DynamicModule {
    return {
      module: ApiModule,
      imports: [PlatformModule.forRoot(settings, 'api', logger)],
      controllers: [ServiceInfoController, RunsController, TasksController, RunFilesController, OpenApiController],
      providers: [
        RunsService,
        SubmitLimits,
        WorkflowSources,
        WorkflowAllowList,
        ApiReaper,
        DeletedRunsListener,
        {
          provide: TrackedRunCache,
          inject: [REDIS, RunKeys, TerminalStateCache],
          useFactory: (redis: Redis, keys: RunKeys, terminal: TerminalStateCache) => trackedRunCache(redis, keys, terminal, settings, logger),
        },
        RunCacheConnections,
        ConnectionDraining,
        LinkSigner,
        { provide: Authenticator, useValue: new Authenticator(settings) },
        { provide: APP_GUARD, useClass: AuthGuard },
        { provide: APP_FILTER, useClass: ErrorResponseFilter },
      ],
    };
  }
}
