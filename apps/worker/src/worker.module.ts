import { DynamicModule, Module } from '@nestjs/common';
import { WesSettings } from '../../../libs/config/src';
import type { Logger } from '../../../libs/logging/src';
import { PlatformModule } from '../../../libs/platform/src';
import { RunExecutor } from './run-executor';
import { WorkerHost } from './worker-host';
import { WorkerHttpServer } from './worker-http-server';
import { newWorkerId, WORKER_ID } from './worker-identity';

/** The worker process: takes run ids from BullMQ and executes them. Serves WES clients no HTTP (only its operators' small listener). */
@Module({})
export class WorkerModule {
  static forRoot(settings: WesSettings, logger: Logger): DynamicModule {
    return {
      module: WorkerModule,
      imports: [PlatformModule.forRoot(settings, 'worker', logger)],
      providers: [{ provide: WORKER_ID, useFactory: newWorkerId }, RunExecutor, WorkerHost, WorkerHttpServer],
    };
  }
}
