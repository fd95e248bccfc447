import pino, { Logger, LoggerOptions } from 'pino';
import type { LoggerService } from '@nestjs/common';

export type { Logger } from 'pino';

/**
 * Credentials never reach a log line, whatever logs a request or its headers (an error object
 * carrying them included): their values are replaced with "[Redacted]". These field names are
 * taken out wherever they are in a line's object, within REDACTION_DEPTH levels; `cookie` under
 * a `headers` object. A child logger's bindings (run ids) are checked at their top level only.
 */
const SECRET_KEYS = new Set([
  'authorization',
  'password',
  'token',
  'sessionToken',
  // Credentials of settings and SDK objects, should one be logged whole (S3 keys, tokens, link key).
  'secretAccessKey',
  's3SecretAccessKey',
  's3InputSecretAccessKey',
  'linkSigningKey',
  'metricsToken',
]);
const HEADER_SECRET_KEYS = new Set(['authorization', 'cookie']);

/**
 * The same fields at the top level, for pino's own redaction: it also covers what a line's
 * object walk does not see (pino's err serializer output, a binding given as a string). Only
 * exact paths: pino's wildcard paths (`*.token`) cost ~20 µs a line, more than the rest of the
 * line, and the walk below covers them (and deeper levels).
 */
export const REDACTED_PATHS = [...SECRET_KEYS, 'headers.authorization', 'headers.cookie', 'req.headers.authorization', 'req.headers.cookie'];

/** Levels of a line's object walked for credentials (URLs and fields). */
const REDACTION_DEPTH = 4;

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

const REDACTED = '[Redacted]';

const isSecretField = (key: string, parentKey: string | undefined) => SECRET_KEYS.has(key) || (parentKey === 'headers' && HEADER_SECRET_KEYS.has(key));

/**
 * A log object with URL query credentials redacted in its strings (and its errors'), and
 * credential fields (SECRET_KEYS) replaced, a few levels deep; objects without either come back
 * as they are (no copy).
 */
function redactObject(value: unknown, depth = 0, parentKey?: string): unknown {
  if (typeof value === 'string') return redactUrlSecrets(value);
  if (depth > REDACTION_DEPTH || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) {
    const [message, stack] = [redactUrlSecrets(value.message), value.stack && redactUrlSecrets(value.stack)];
    // Its own fields too (pino's err serializer writes them: a client error's `headers`, say).
    const fields = redactFields(value, depth, parentKey);
    if (message === value.message && stack === value.stack && fields === value) return value;
    const copy = new Error(message);
    copy.name = value.name;
    copy.stack = stack;
    if (fields !== value) Object.assign(copy, fields);
    return copy;
  }
  if (Array.isArray(value)) {
    const out = value.map((v) => redactObject(v, depth + 1, parentKey));
    return out.some((v, i) => v !== value[i]) ? out : value;
  }
  return redactFields(value as Record<string, unknown>, depth, parentKey);
}

/** An object's own fields redacted; the object itself when nothing changed. */
function redactFields(value: object, depth: number, parentKey: string | undefined): object {
  let out: Record<string, unknown> | undefined;
  for (const k of Object.keys(value)) {
    const v = (value as Record<string, unknown>)[k];
    // Top-level fields are pino's (REDACTED_PATHS): what it writes as "[Redacted]" must stay the same.
    const r = depth > 0 && v !== undefined && isSecretField(k, parentKey) ? REDACTED : redactObject(v, depth + 1, k);
    if (r !== v) {
      out ??= { ...value };
      out[k] = r;
    }
  }
  return out ?? value;
}

/**
 * What keeps credentials out of every line: credential fields (REDACTED_PATHS at the top level,
 * SECRET_KEYS below it), URL query credentials in any string of the object or the message (a
 * request URL carrying a signed link, say).
 */
export const LOG_REDACTION: Pick<LoggerOptions, 'redact' | 'formatters' | 'hooks'> = {
  redact: REDACTED_PATHS,
  formatters: { log: (obj) => redactObject(obj) as Record<string, unknown> },
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
