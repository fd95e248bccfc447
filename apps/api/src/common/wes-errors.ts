/** An error the client caused or can act on, with the HTTP status it maps to. */
export class WesHttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** 400: the request is malformed; the message names the field and says why. */
export class BadRequestError extends WesHttpError {
  override name = 'BadRequestError';
  constructor(message: string) {
    super(400, message);
  }
}

/** 404: no such run (or task, or file of a run). */
export class NotFoundError extends WesHttpError {
  override name = 'NotFoundError';
  constructor(message: string) {
    super(404, message);
  }
}

/** 409: the run is not in a state that allows this (e.g. deleting a run not finished). */
export class ConflictError extends WesHttpError {
  override name = 'ConflictError';
  constructor(message: string) {
    super(409, message);
  }
}

/** 413: a part or the request is larger than the server accepts. */
export class PayloadTooLargeError extends WesHttpError {
  override name = 'PayloadTooLargeError';
  constructor(message: string) {
    super(413, message);
  }
}

/** 503: a backing service (Redis, the queue, the object store) failed; the client may retry. */
export class ServiceUnavailableError extends WesHttpError {
  override name = 'ServiceUnavailableError';
  constructor(message: string) {
    super(503, message);
  }
}

/** 401: no credentials, or credentials that are not valid; sent with WWW-Authenticate (`challenge`, or every scheme). */
export class UnauthorizedError extends WesHttpError {
  override name = 'UnauthorizedError';
  constructor(
    message: string,
    readonly challenge?: string,
  ) {
    super(401, message);
  }
}

/** 403: the caller is known but may not touch this (another user's run). */
export class ForbiddenError extends WesHttpError {
  override name = 'ForbiddenError';
  constructor(message: string) {
    super(403, message);
  }
}

/**
 * 429: a per-user limit is reached (active runs, submissions per minute); sent with
 * Retry-After, whole seconds after which the client may try again.
 */
export class TooManyRequestsError extends WesHttpError {
  override name = 'TooManyRequestsError';
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(429, message);
  }
}
