import { SetMetadata } from '@nestjs/common';

export const PUBLIC_ROUTE = 'wes:public';

/** A route (or controller) the AuthGuard lets anyone call: service-info, the API document. */
export const Public = () => SetMetadata(PUBLIC_ROUTE, true);
