import type { FastifyRequest } from 'fastify';

/**
 * Who sent a request, as the AuthGuard established it: `name` for audit lines (`anonymous` with
 * authMode none), `owner` recorded on the runs it submits (none with authMode none), and
 * `admin` for who sees and cancels every run (role `admin`, and everyone with authMode none).
 * A caller who is not an admin always has an owner: it sees that owner's runs only. `roles` are
 * the caller's roles as its credentials gave them (for per-role rules such as the workflow
 * allow-list); `admin` is true exactly when they include `admin`.
 */
export type Caller =
  | { name: string; admin: true; owner?: string; roles: readonly string[] }
  | { name: string; admin: false; owner: string; roles: readonly string[] };

/** Everyone, with authMode none: every run is everyone's, and runs have no owner. */
export const ANONYMOUS: Caller = { name: 'anonymous', admin: true, roles: ['admin'] };

const CALLER = Symbol('wes.caller');

export function setCaller(req: FastifyRequest, caller: Caller): void {
  (req as unknown as Record<symbol, Caller>)[CALLER] = caller;
}

/** The caller of a request that passed the AuthGuard. */
export function callerOf(req: FastifyRequest): Caller {
  const caller = (req as unknown as Record<symbol, Caller | undefined>)[CALLER];
  if (!caller) throw new Error('no caller on the request: is the route missing the AuthGuard?');
  return caller;
}

/** The caller when the AuthGuard established one (not for public routes, nor requests refused before it). */
export function knownCaller(req: FastifyRequest): Caller | undefined {
  return (req as unknown as Record<symbol, Caller | undefined>)[CALLER];
}
