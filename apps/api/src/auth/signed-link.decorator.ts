import { SetMetadata } from '@nestjs/common';

export const SIGNED_LINK_ROUTE = 'wes:signedLinkRoute';

/**
 * A route of a run's file (a log, an output) whose GET the AuthGuard also lets through without
 * credentials on a valid signed link to exactly that run and path (see LinkSigner).
 */
export const SignedLinkRoute = () => SetMetadata(SIGNED_LINK_ROUTE, true);
