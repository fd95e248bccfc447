/** A failure the client reports as one line on stderr, with its exit code. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** Bad arguments or options (exit code 2, like commander's own usage errors). */
export class UsageError extends CliError {
  override name = 'UsageError';
  constructor(message: string) {
    super(message, 2);
  }
}

/** The server could not be reached at all (refused, unknown host, reset...). */
export class UnreachableError extends CliError {
  override name = 'UnreachableError';
}

/** The server answered with an error status; `message` is "<status> <reason>: <server's msg>". */
export class HttpStatusError extends CliError {
  override name = 'HttpStatusError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}
