import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Inject } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { LOGGER } from '../../../../libs/platform/src';
import type { Logger } from '../../../../libs/logging/src';
import { UnsafePathError } from '../../../../libs/storage/src';
import { WesHttpError } from './wes-errors';

/** Fastify and @fastify/multipart errors carry their own status (e.g. 413 for a part too large). */
interface FastifyError extends Error {
  statusCode?: number;
  code?: string;
}

/**
 * The one place errors become HTTP responses: every error body is a WES ErrorResponse
 * {msg, status_code}. Client mistakes keep their 4xx; anything unexpected is a 500 whose
 * details go to the log, not to the client.
 */
@Catch()
export class ErrorResponseFilter implements ExceptionFilter {
  constructor(@Inject(LOGGER) private readonly logger: Logger) {}

  catch(error: unknown, host: ArgumentsHost) {
    const http = host.switchToHttp();
    const reply = http.getResponse<FastifyReply>();
    const request = http.getRequest<FastifyRequest>();
    const { status, msg } = this.describe(error);
    if (status >= 500) {
      this.logger.error({ err: error, method: request?.method, url: request?.url }, 'request failed');
    }
    if (reply.sent || reply.raw.headersSent) return;
    void reply.status(status).header('content-type', 'application/json; charset=utf-8').send({ msg, status_code: status });
  }

  private describe(error: unknown): { status: number; msg: string } {
    if (error instanceof WesHttpError) return { status: error.statusCode, msg: error.message };
    if (error instanceof UnsafePathError) return { status: 400, msg: error.message };
    if (error instanceof HttpException) {
      const body = error.getResponse();
      const message =
        typeof body === 'object' && body && 'message' in body ? (body as { message: unknown }).message : error.message;
      return { status: error.getStatus(), msg: Array.isArray(message) ? message.join('; ') : String(message) };
    }
    const e = error as FastifyError;
    if (e && typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
      return { status: e.statusCode, msg: e.message };
    }
    return { status: 500, msg: 'An unexpected error occurred; it has been logged.' };
  }
}
