import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

export const WORKER_ID = Symbol('WORKER_ID');

/** A worker's id: host and pid for people, a random suffix so a restarted pid is a new worker. */
export function newWorkerId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}
