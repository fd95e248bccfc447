import { DynamicModule, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { WesSettings } from '../../../libs/config/src';
import type { Logger } from '../../../libs/logging/src';
import { PlatformModule, REDIS } from '../../../libs/platform/src';
import { createRunQueue } from '../../../libs/queue/src';
import { ErrorResponseFilter } from './common/error-response.filter';
import { OpenApiController } from './docs/openapi.controller';
import { RunFilesController } from './runs/run-files.controller';
import { RunsController } from './runs/runs.controller';
import { RUN_QUEUE, RunsService } from './runs/runs.service';
import { ServiceInfoController } from './service-info/service-info.controller';

@Injectable()
class QueueCloser implements OnApplicationShutdown {
  constructor(@Inject(RUN_QUEUE) private readonly queue: Queue) {}
  async onApplicationShutdown() {
    await this.queue.close();
  }
}

/** The HTTP API: validates requests, records runs, queues their ids, reads state. */
@Module({})
export class ApiModule {
  static forRoot(settings: WesSettings, logger: Logger): DynamicModule {
    return {
      module: ApiModule,
      imports: [PlatformModule.forRoot(settings, 'api', logger)],
      controllers: [ServiceInfoController, RunsController, RunFilesController, OpenApiController],
      providers: [
        RunsService,
        {
          provide: RUN_QUEUE,
          inject: [REDIS],
          useFactory: (redis: Redis) => createRunQueue(settings.queueName, redis, settings.keyPrefix),
        },
        QueueCloser,
        { provide: APP_FILTER, useClass: ErrorResponseFilter },
      ],
    };
  }
}
