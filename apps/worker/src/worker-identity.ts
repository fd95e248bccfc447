import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { formatWorkerId } from '../../../libs/runs/src';

export const WORKER_ID = Symbol('WORKER_ID');

/**
 * A worker's id: host and pid for people (and for readers of a run's holder, which take them
 * from the id: formatWorkerId), a random suffix so a restarted pid is a new worker.
 */
export function newWorkerId(): string {
  return formatWorkerId(hostname(), process.pid, randomBytes(3).toString('hex'));
}
