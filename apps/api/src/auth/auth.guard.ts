import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { IdentityProviderUnavailableError, InvalidTokenError } from '../../../../libs/auth/src';
import type { Logger } from '../../../../libs/logging/src';
import { LOGGER } from '../../../../libs/platform/src';
import { TrackedRunCache } from '../../../../libs/runs/src';
import { ForbiddenError, ServiceUnavailableError, UnauthorizedError } from '../common/wes-errors';
import { Authenticator } from './authenticator';
import { setCaller } from './caller';
import { keepGuardRunRead } from './guard-run-read';
import { LinkSigner, runPathOf } from './link-signer';
import { PUBLIC_ROUTE } from './public.decorator';
import { SIGNED_LINK_ROUTE } from './signed-link.decorator';

/**
 * Every route but those marked @Public: the caller must authenticate (401 otherwise), and a
 * route about one run (a `run_id` parameter: the run, its status, tasks, logs, outputs,
 * cancel) is the owner's or an admin's (403 otherwise; a run that does not exist is left to
 * the handler's 404). One place, so a new run route cannot forget the check. The run read for
 * the check is kept on the request for the handler (guard-run-read.ts). A JWT that does not
 * verify is a 401 saying why in general terms; an issuer whose keys cannot be fetched is a 503
 * (the token may be good: the client should retry, not drop it). Neither logs the token.
 *
 * A GET or HEAD of a run's file (a @SignedLinkRoute: logs, outputs) without an Authorization
 * header but with a signed link's query passes when the signature is good for exactly that run
 * and path and has not expired: the signature is the grant, given by the RunLog to its owner.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly authenticator: Authenticator,
    private readonly runs: TrackedRunCache,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly links: LinkSigner,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, [context.getHandler(), context.getClass()])) return true;
    const req = context.switchToHttp().getRequest<FastifyRequest>();
    const header = req.headers.authorization;
    if (!header && this.links.enabled && this.links.carriesLink(req.query) && this.isSignedLinkRoute(context, req)) return this.passSignedLink(req);
    const caller = await this.authenticator.authenticate(header).catch((err: unknown) => {
      if (err instanceof InvalidTokenError) {
        // An unforeseen failure: the operator gets its kind, not its message (a parser's message may quote the token).
        if (err.cause) this.logger.warn({ error: (err.cause as Error).name, code: (err.cause as { code?: unknown }).code }, 'a JWT could not be verified');
        throw new UnauthorizedError(`the token is not valid: ${err.message}`, this.authenticator.challenge(header));
      }
      if (err instanceof IdentityProviderUnavailableError) throw new ServiceUnavailableError(err.message);
      throw err;
    });
    if (!caller) throw new UnauthorizedError(header ? 'the credentials are not valid' : this.authenticator.credentialsHint, this.authenticator.challenge(header));
    setCaller(req, caller);
    const runId = (req.params as Record<string, string> | undefined)?.run_id;
    if (runId !== undefined && !caller.admin) {
      const head = await this.runs.read(runId);
      if (head.state !== null && head.owner !== caller.owner) throw new ForbiddenError(`run ${runId} belongs to another user`);
      keepGuardRunRead(req, runId, head);
    }
    return true;
  }

  private isSignedLinkRoute(context: ExecutionContext, req: FastifyRequest): boolean {
    return (req.method === 'GET' || req.method === 'HEAD') && this.reflector.getAllAndOverride<boolean>(SIGNED_LINK_ROUTE, [context.getHandler(), context.getClass()]) === true;
  }

  private async passSignedLink(req: FastifyRequest): Promise<true> {
    const runId = (req.params as Record<string, string> | undefined)?.run_id ?? '';
    const runPath = runPathOf(req.url, runId);
    const check = runPath === undefined ? 'invalid' : await this.links.check(req, runId, runPath);
    if (check === 'expired') throw new UnauthorizedError('this link has expired: read the run again (GET /runs/{run_id}) for fresh links, or send credentials');
    if (check !== 'valid') throw new UnauthorizedError('the signature of this link is not valid for this run and path');
    // Whoever holds the link acts as the run's owner, for this file only.
    const head = await this.runs.read(runId);
    setCaller(req, { name: `signed link (${head.owner ?? 'no owner'})`, admin: false, owner: head.owner ?? '', roles: [] });
    keepGuardRunRead(req, runId, head);
    return true;
  }
}
