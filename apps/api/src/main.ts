import 'reflect-metadata';
import fastifyCors from '@fastify/cors';
import multipart from '@fastify/multipart';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import { NestFactory } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { checkApiListenSettings, InvalidSettingError, loadSettings, trustProxyOf, WesSettings } from '../../../libs/config/src';
import { defaultEngines, InvalidEngineSettingError } from '../../../libs/engines/src';
import { JsonTooDeepError, parseJson } from '../../../libs/json/src';
import { createLogger, PinoNestLogger, requestIdOf } from '../../../libs/logging/src';
import { exitIfShutdownHangs } from '../../../libs/platform/src';
import { SHUTDOWN_REDIS_WAIT_MS, WorkerPools } from '../../../libs/queue/src';
import { ApiModule } from './app.module';
import { signsLinks } from './auth/link-signer';
import { WES_BASE_PATH } from './common/base-url';
import { closeConnectionsWhenShuttingDown } from './common/connection-draining';
import { Authenticator } from './auth/authenticator';
import { sendErrorResponse } from './common/error-response.filter';
import { serveDashboard } from './dashboard/serve-dashboard';
import { BadRequestError } from './common/wes-errors';
import { installObservability } from './observability';
import { OPENAPI_DOCUMENT } from './version';

function settingsOrExit(): WesSettings {
  try {
    const settings = loadSettings();
    checkApiListenSettings(settings);
    trustProxyOf(settings);
    // The engine table is known here, not to libs/config: an unknown type or engine stops start-up.
    defaultEngines(settings);
    new WorkerPools(settings);
    return settings;
  } catch (err) {
    if (err instanceof InvalidSettingError || err instanceof InvalidEngineSettingError) {
      process.stderr.write(`wes-api: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

async function main() {
  const settings = settingsOrExit();
  const logger = createLogger('api', settings.logLevel);
  const oidc = settings.authMode === 'oidc' ? { issuer: settings.oidcIssuer, audience: settings.oidcAudience, jwks: settings.oidcJwksUrl || 'discovered' } : {};
  // Whether links are signed and where their key comes from; never the key.
  const links = signsLinks(settings) ? { signedLinkTtlSeconds: settings.signedLinkTtlSeconds, linkKey: settings.linkSigningKey ? 'configured' : 'shared in Redis' } : { signedLinks: false };
  logger.info({ authMode: settings.authMode, users: settings.authUsers.length, ...oidc, ...links }, 'authentication');
  // Set once the app exists: records the requests the router refuses before any hook runs.
  let recordRefused: ((request: FastifyRequest, reply: FastifyReply) => void) | undefined;
  const adapter = new FastifyAdapter({
    bodyLimit: settings.maxFieldBytes * 4,
    // X-Forwarded-Host/-Proto name the host of every URL the API returns: only from the proxies
    // of WES_TRUSTED_PROXIES (none by default).
    trustProxy: trustProxyOf(settings),
    // A client's sane x-request-id is kept (it follows the request through the logs), else a new one.
    requestIdHeader: false,
    genReqId: (req: { headers: Record<string, string | string[] | undefined> }) => requestIdOf(req.headers['x-request-id']),
    // Errors of Fastify's router (bad URL, path parameter too long) get the WES shape too.
    frameworkErrors: (err: Error, request: FastifyRequest, reply: FastifyReply) => {
      sendErrorResponse(err, request, reply, logger);
      recordRefused?.(request, reply);
    },
  });
  const app = await NestFactory.create<NestFastifyApplication>(ApiModule.forRoot(settings, logger), adapter, {
    logger: new PinoNestLogger(logger),
    // Bodies are parsed below (JSON, losslessly) and in readMultipartSubmission (multipart).
    bodyParser: false,
  });
  // Limits are given per request in readMultipartSubmission.
  await app.register(multipart as never);
  const fastify = app.getHttpAdapter().getInstance();
  // A JSON RunRequest's numbers reach the engine as the client wrote them (libs/json).
  fastify.removeContentTypeParser('application/json');
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, body === '' ? undefined : parseJson(body as string));
    } catch (err) {
      const why = err instanceof JsonTooDeepError ? `is ${err.message}` : `is not valid JSON: ${(err as Error).message}`;
      done(new BadRequestError(`the request body ${why}`), undefined);
    }
  });
  const corsOrigins = settings.corsOrigins.split(',').map((o) => o.trim()).filter(Boolean);
  if (corsOrigins.length > 0) {
    await app.register(fastifyCors as never, {
      origin: corsOrigins.includes('*') ? '*' : corsOrigins,
      methods: ['GET', 'HEAD', 'POST', 'DELETE', 'OPTIONS'],
      allowedHeaders: ['authorization', 'content-type', 'range', 'if-none-match', 'x-request-id'],
      // What a browser may read: ranges of logs and outputs, validators, and errors' hints.
      exposedHeaders: ['accept-ranges', 'content-range', 'content-length', 'content-disposition', 'etag', 'retry-after', 'www-authenticate', 'x-request-id'],
      maxAge: 600,
    } as never);
  }
  await app.register(fastifySwagger as never, { mode: 'static', specification: { path: OPENAPI_DOCUMENT, baseDir: '' } } as never);
  await app.register(fastifySwaggerUi as never, { routePrefix: `${WES_BASE_PATH}/docs` } as never);
  await serveDashboard(fastify, logger);
  closeConnectionsWhenShuttingDown(app.getHttpAdapter().getInstance());
  recordRefused = installObservability(app, settings, logger);
  app.setGlobalPrefix(WES_BASE_PATH.slice(1));
  app.enableShutdownHooks();
  // Beside Nest's signal listeners (not before: a signal during start-up still kills at once):
  // requests in flight get apiDrainMs, then a few bounded waits on Redis.
  exitIfShutdownHangs('wes-api', settings.apiDrainMs + 3 * SHUTDOWN_REDIS_WAIT_MS);
  await app.listen(settings.port, settings.host);
  logger.info({ url: `http://${settings.host}:${settings.port}${WES_BASE_PATH}` }, 'WES API listening');
  // Not fatal: the identity provider may start after this server; until it answers, JWTs get a 503.
  app
    .get(Authenticator)
    .probeIssuer()
    ?.then(
      ({ url, keys }) => logger.info({ jwks: url, keys }, 'issuer key set fetched'),
      (err: unknown) => logger.warn({ reason: (err as Error).message }, 'issuer key set not reachable yet: JWTs are answered 503 until it is'),
    );
}

process.on('unhandledRejection', (reason) => {
  process.stderr.write(`wes-api: unhandled rejection: ${reason instanceof Error ? reason.stack : String(reason)}\n`);
});

main().catch((err) => {
  process.stderr.write(`wes-api: failed to start: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
