import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { RunStore } from '../../../../libs/runs/src';
import { ForbiddenError, UnauthorizedError } from '../common/wes-errors';
import { Authenticator } from './authenticator';
import { setCaller } from './caller';
import { PUBLIC_ROUTE } from './public.decorator';

/**
 * Every route but those marked @Public: the caller must authenticate (401 otherwise), and a
 * route about one run (a `run_id` parameter: the run, its status, tasks, logs, outputs,
 * cancel) is the owner's or an admin's (403 otherwise; a run that does not exist is left to
 * the handler's 404). One place, so a new run route cannot forget the check.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly authenticator: Authenticator,
    private readonly runs: RunStore,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, [context.getHandler(), context.getClass()])) return true;
    const req = context.switchToHttp().getRequest<FastifyRequest>();
    const header = req.headers.authorization;
    const caller = await this.authenticator.authenticate(header);
    if (!caller) {
      throw new UnauthorizedError(header ? 'the credentials are not valid' : 'this server needs credentials: Authorization: Bearer <token>, or Basic (user and password)');
    }
    setCaller(req, caller);
    const runId = (req.params as Record<string, string> | undefined)?.run_id;
    if (runId !== undefined && !caller.admin) {
      const { exists, owner } = await this.runs.ownerOf(runId);
      if (exists && owner !== caller.owner) throw new ForbiddenError(`run ${runId} belongs to another user`);
    }
    return true;
  }
}
