import 'reflect-metadata';
import multipart from '@fastify/multipart';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import { NestFactory } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { InvalidSettingError, loadSettings, WesSettings } from '../../../libs/config/src';
import { createLogger, PinoNestLogger } from '../../../libs/logging/src';
import { ApiModule } from './app.module';
import { WES_BASE_PATH } from './common/base-url';
import { closeConnectionsWhenShuttingDown } from './common/connection-draining';
import { sendErrorResponse } from './common/error-response.filter';
import { OPENAPI_DOCUMENT } from './version';

function settingsOrExit(): WesSettings {
  try {
    return loadSettings();
  } catch (err) {
    if (err instanceof InvalidSettingError) {
      process.stderr.write(`wes-api: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

async function main() {
  const settings = settingsOrExit();
  const logger = createLogger('api', settings.logLevel);
  const adapter = new FastifyAdapter({
    bodyLimit: settings.maxFieldBytes * 4,
    trustProxy: true,
    // Errors of Fastify's router (bad URL, path parameter too long) get the WES shape too.
    frameworkErrors: (err: Error, request: FastifyRequest, reply: FastifyReply) => sendErrorResponse(err, request, reply, logger),
  });
  const app = await NestFactory.create<NestFastifyApplication>(ApiModule.forRoot(settings, logger), adapter, {
    logger: new PinoNestLogger(logger),
  });
  // Limits are given per request in readMultipartSubmission.
  await app.register(multipart as never);
  await app.register(fastifySwagger as never, { mode: 'static', specification: { path: OPENAPI_DOCUMENT, baseDir: '' } } as never);
  await app.register(fastifySwaggerUi as never, { routePrefix: `${WES_BASE_PATH}/docs` } as never);
  closeConnectionsWhenShuttingDown(app.getHttpAdapter().getInstance());
  app.setGlobalPrefix(WES_BASE_PATH.slice(1));
  app.enableShutdownHooks();
  await app.listen(settings.port, settings.host);
  logger.info({ url: `http://${settings.host}:${settings.port}${WES_BASE_PATH}` }, 'WES API listening');
}

process.on('unhandledRejection', (reason) => {
  process.stderr.write(`wes-api: unhandled rejection: ${reason instanceof Error ? reason.stack : String(reason)}\n`);
});

main().catch((err) => {
  process.stderr.write(`wes-api: failed to start: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
