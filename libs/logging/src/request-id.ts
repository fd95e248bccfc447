import { randomUUID } from 'node:crypto';

/** A client's request id is taken as it is when it is short and plain: no spaces, quotes or controls. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:@+=/-]{1,128}$/;

/**
 * The id of a request: the client's `x-request-id` when it is sane (so a proxy's or a client's
 * id can be followed through our logs), else a new UUID. One header only: repeated ones are
 * not taken.
 */
export function requestIdOf(header: string | string[] | undefined): string {
  return typeof header === 'string' && SANE_REQUEST_ID.test(header) ? header : randomUUID();
}
