import pino, { Logger } from 'pino';
import type { LoggerService } from '@nestjs/common';

export type { Logger } from 'pino';

/**
 * Credentials never reach a log line, whatever logs a request or its headers (an error object
 * carrying them included): pino replaces these fields with "[Redacted]".
 */
export const REDACTED_PATHS = [
  'authorization',
  'password',
  'headers.authorization',
  'headers.cookie',
  'req.headers.authorization',
  'req.headers.cookie',
  '*.authorization',
  '*.password',
  '*.headers.authorization',
  '*.headers.cookie',
];

/** One JSON line per event on stdout; child loggers carry the run id (`runId`). */
export function createLogger(name: string, level: string): Logger {
  return pino({ name, level, base: { pid: process.pid, svc: name }, redact: REDACTED_PATHS });
}

/** Routes Nest's own log calls into pino, so every line of a process has one shape. */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}
  log(message: unknown, context?: string) {
    this.logger.info({ context }, String(message));
  }
  error(message: unknown, trace?: string, context?: string) {
    this.logger.error({ context, trace }, String(message));
  }
  warn(message: unknown, context?: string) {
    this.logger.warn({ context }, String(message));
  }
  debug(message: unknown, context?: string) {
    this.logger.debug({ context }, String(message));
  }
  verbose(message: unknown, context?: string) {
    this.logger.trace({ context }, String(message));
  }
}
