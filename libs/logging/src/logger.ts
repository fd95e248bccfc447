import pino, { Logger, LoggerOptions } from 'pino';
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
  // Credentials of settings and SDK objects, should one be logged whole (S3 keys, tokens, link key).
  'token',
  '*.token',
  'sessionToken',
  '*.sessionToken',
  'secretAccessKey',
  '*.secretAccessKey',
  's3SecretAccessKey',
  's3InputSecretAccessKey',
  '*.s3SecretAccessKey',
  '*.s3InputSecretAccessKey',
  'linkSigningKey',
  '*.linkSigningKey',
  'metricsToken',
  '*.metricsToken',
];

/**
 * Signatures in a URL's query are bearer credentials: the API's signed links (`signature=`)
 * and S3 presigned URLs (`X-Amz-Signature=`, `X-Amz-Credential=`, `X-Amz-Security-Token=`).
 */
const URL_SECRET = /([?&](?:signature|x-amz-signature|x-amz-credential|x-amz-security-token)=)[^&#\s"'<>]*/gi;

/** A text with every URL query credential replaced by [Redacted]. */
export function redactUrlSecrets(text: string): string {
  return text.replace(URL_SECRET, '$1[Redacted]');
}

/** An option whose value is a credential: `--password`, `--aws-secret-key`, `--token=…`, `--apiKey`. */
const SECRET_OPTION = /^-{1,2}[A-Za-z0-9_-]*(?:pass(?:word|wd)?|secret|token|credential|api-?key|access-?key|private-?key)[A-Za-z0-9_-]*$/i;

/** A URL's user information (`scheme://user:password@host`): the password goes. */
const URL_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^/@\s:]*:)[^/@\s]*@/gi;

/**
 * A command line fit for a log line: the value of an option named like a credential (as
 * `--opt=value` or as the next argument), a URL's password and URL query credentials redacted;
 * every other argument as it is.
 */
export function redactCommand(args: readonly string[]): string[] {
  return args.map((arg, i) => {
    const eq = arg.indexOf('=');
    if (eq > 0 && arg.startsWith('-') && SECRET_OPTION.test(arg.slice(0, eq))) return `${arg.slice(0, eq)}=[Redacted]`;
    const previous = args[i - 1];
    if (previous !== undefined && !previous.includes('=') && SECRET_OPTION.test(previous) && !arg.startsWith('-')) return '[Redacted]';
    return redactUrlSecrets(arg).replace(URL_PASSWORD, '$1[Redacted]@');
  });
}

/** A log object with URL query credentials redacted in its strings (and its errors'), a few levels deep. */
function redactObjectUrls(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactUrlSecrets(value);
  if (depth > 4 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) {
    const [message, stack] = [redactUrlSecrets(value.message), value.stack && redactUrlSecrets(value.stack)];
    if (message === value.message && stack === value.stack) return value;
    const copy = new Error(message);
    copy.name = value.name;
    copy.stack = stack;
    return copy;
  }
  if (Array.isArray(value)) return value.map((v) => redactObjectUrls(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = redactObjectUrls(v, depth + 1);
  return out;
}

/**
 * What keeps credentials out of every line: REDACTED_PATHS by field, URL query credentials in
 * any string of the object or the message (a request URL carrying a signed link, say).
 */
export const LOG_REDACTION: Pick<LoggerOptions, 'redact' | 'formatters' | 'hooks'> = {
  redact: REDACTED_PATHS,
  formatters: { log: (obj) => redactObjectUrls(obj) as Record<string, unknown> },
  hooks: {
    logMethod(args, method) {
      method.apply(this, args.map((a) => (typeof a === 'string' ? redactUrlSecrets(a) : a)) as Parameters<typeof method>);
    },
  },
};

/** One JSON line per event on stdout; child loggers carry the run id (`runId`). */
export function createLogger(name: string, level: string): Logger {
  return pino({ name, level, base: { pid: process.pid, svc: name }, ...LOG_REDACTION });
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
