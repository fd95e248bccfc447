import { BadRequestError } from './wes-errors';

/** page_size: a positive whole number; larger than the maximum is served as the maximum. */
export function parsePageSize(value: string | undefined, defaultSize: number, maxSize: number): number {
  if (value === undefined || value === '') return defaultSize;
  if (!/^\d+$/.test(value) || Number(value) < 1) {
    throw new BadRequestError(`page_size: "${value}" is not a positive whole number`);
  }
  return Math.min(Number(value), maxSize);
}

/** Page tokens are opaque to clients: the base64url of the last item's key on the previous page. */
export function encodePageToken(key: string | undefined): string {
  return key ? Buffer.from(key, 'utf8').toString('base64url') : '';
}

export function decodePageToken(token: string | undefined, isValidKey: (key: string) => boolean): string | undefined {
  if (token === undefined || token === '') return undefined;
  const key = /^[A-Za-z0-9_-]+$/.test(token) ? Buffer.from(token, 'base64url').toString('utf8') : '';
  if (!isValidKey(key)) throw new BadRequestError(`page_token: "${token}" is not a token this server issued`);
  return key;
}
