import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { WesSettings } from '../../../libs/config/src';
import type { Logger } from '../../../libs/logging/src';
import { LOGGER } from '../../../libs/platform/src';
import { Reaper, RunRecovery } from '../../../libs/recovery/src';

/**
 * The API sweeps for lost runs too (in turn with the workers, under one lock), so that a run
 * whose worker is gone is settled even when no worker is left to do it.
 */
@Injectable()
export class ApiReaper implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly reaper: Reaper;

  constructor(settings: WesSettings, recovery: RunRecovery, @Inject(LOGGER) logger: Logger) {
    this.reaper = new Reaper(recovery, settings.reaperIntervalMs, logger);
  }

  onApplicationBootstrap() {
    this.reaper.start();
  }

  async onApplicationShutdown() {
    await this.reaper.stop();
  }
}
