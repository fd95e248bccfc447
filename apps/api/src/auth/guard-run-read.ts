import type { FastifyRequest } from 'fastify';
import type { RunHead } from '../../../../libs/runs/src';

const RUN_READ = Symbol('wes.guardRunRead');

interface GuardRunRead {
  runId: string;
  head: RunHead;
}

/**
 * Keeps on the request the run head (state, owner) the AuthGuard read for its owner check, so the
 * handler answers from it instead of reading the run again: one fence of the TrackedRunCache per
 * request instead of two. Read after the request arrived, it holds every change whose reply
 * anyone had before, which is all a read by the handler would promise.
 */
export function keepGuardRunRead(req: FastifyRequest, runId: string, head: RunHead): void {
  (req as unknown as Record<symbol, GuardRunRead>)[RUN_READ] = { runId, head };
}

/**
 * The AuthGuard's read of `runId` on this request, if it made one (not for an admin, who owns
 * every run). Only for reads: a transition checks the run's state itself, in its script.
 */
export function guardRunRead(req: FastifyRequest, runId: string): RunHead | undefined {
  const read = (req as unknown as Record<symbol, GuardRunRead | undefined>)[RUN_READ];
  return read?.runId === runId ? read.head : undefined;
}
