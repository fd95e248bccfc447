import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { InvalidSettingError, loadSettings } from '../../../libs/config/src';
import { enginesToRun, InvalidEngineSettingError } from '../../../libs/engines/src';
import { createLogger, PinoNestLogger } from '../../../libs/logging/src';
import { exitIfShutdownHangs } from '../../../libs/platform/src';
import { SHUTDOWN_REDIS_WAIT_MS, WorkerPools } from '../../../libs/queue/src';
import { NoEngineError } from './worker-host';
import { WorkerModule } from './worker.module';

async function main() {
  let settings;
  try {
    settings = loadSettings();
    // Engine names are checked against the engine table here (libs/config does not know it), and
    // the engines a setting names against the sandbox (an engine that needs it, without it).
    enginesToRun(settings);
    // The pool table, and the pools this worker serves, are checked the same way.
    new WorkerPools(settings).servedBy(settings.workerPools);
  } catch (err) {
    if (err instanceof InvalidSettingError || err instanceof InvalidEngineSettingError) {
      process.stderr.write(`wes-worker: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger('worker', settings.logLevel);
  const app = await NestFactory.createApplicationContext(WorkerModule.forRoot(settings, logger), {
    logger: new PinoNestLogger(logger),
  });
  app.enableShutdownHooks();
  // Beside Nest's signal listeners (not before: a signal during start-up still kills at once):
  // the drain, then the engines' grace time, then a few bounded waits on Redis.
  exitIfShutdownHangs('wes-worker', settings.drainMs + settings.cancelGraceMs + 4 * SHUTDOWN_REDIS_WAIT_MS);
}

main().catch((err) => {
  const message = err instanceof NoEngineError ? err.message : err instanceof Error ? err.stack : String(err);
  process.stderr.write(`wes-worker: failed to start: ${message}\n`);
  process.exit(1);
});
