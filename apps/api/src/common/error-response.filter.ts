import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Inject } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { LOGGER } from '../../../../libs/platform/src';
import type { Logger } from '../../../../libs/logging/src';
import { UnsafePathError } from '../../../../libs/storage/src';
import { TooManyRequestsError, UnauthorizedError, WesHttpError } from './wes-errors';

/** The schemes a 401 offers (RFC 9110 §11.6.1) when its error names none: a bearer token, or a user and password. */
export const WWW_AUTHENTICATE = 'Bearer realm="wes", Basic realm="wes"';

/** Fastify and @fastify/multipart errors carry their own status (e.g. 413 for a part too large). */
interface FastifyError extends Error {
  statusCode?: number;
  code?: string;
}

/** Status and message of an error as the client sees them: 4xx keep their reason, the rest is a 500. */
export function describeError(error: unknown): { status: number; msg: string } {
  if (error instanceof WesHttpError) return { status: error.statusCode, msg: error.message };
  if (error instanceof UnsafePathError) return { status: 400, msg: error.message };
  if (error instanceof HttpException) {
    const body = error.getResponse();
    const message = typeof body === 'object' && body && 'message' in body ? (body as { message: unknown }).message : error.message;
    return { status: error.getStatus(), msg: Array.isArray(message) ? message.join('; ') : String(message) };
  }
  const e = error as FastifyError;
  if (e && typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return { status: e.statusCode, msg: e.message };
  }
  return { status: 500, msg: 'An unexpected error occurred; it has been logged.' };
}

/** Sends an error as a WES ErrorResponse {msg, status_code}; unexpected ones are logged. */
export function sendErrorResponse(error: unknown, request: FastifyRequest | undefined, reply: FastifyReply, logger: Logger) {
  const { status, msg } = describeError(error);
  // The request id ties this line to the request's own line; a run's route names its run.
  const runId = (request?.params as { run_id?: unknown } | undefined)?.run_id;
  if (status >= 500) logger.error({ err: error, reqId: request?.id, method: request?.method, url: request?.url, runId: typeof runId === 'string' ? runId : undefined }, 'request failed');
  if (reply.sent || reply.raw.headersSent) return;
  // The router's own errors (a bad URL) skip the request hooks that set it elsewhere.
  if (request && !reply.hasHeader('x-request-id')) reply.header('x-request-id', request.id);
  if (status === 401) reply.header('www-authenticate', (error instanceof UnauthorizedError && error.challenge) || WWW_AUTHENTICATE);
  if (error instanceof TooManyRequestsError) reply.header('retry-after', String(error.retryAfterSeconds));
  void reply.status(status).header('content-type', 'application/json; charset=utf-8').send({ msg, status_code: status });
}

/**
 * The one place errors raised in Nest handlers become HTTP responses (main.ts gives Fastify's
 * own errors, raised before a handler runs, to sendErrorResponse as well).
 */
@Catch()
export class ErrorResponseFilter implements ExceptionFilter {
  constructor(@Inject(LOGGER) private readonly logger: Logger) {}

  catch(error: unknown, host: ArgumentsHost) {
    const http = host.switchToHttp();
    sendErrorResponse(error, http.getRequest<FastifyRequest>(), http.getResponse<FastifyReply>(), this.logger);
  }
}
