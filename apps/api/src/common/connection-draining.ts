import { BeforeApplicationShutdown, Injectable } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';
import { WesSettings } from '../../../../libs/config/src';

let closing = false;
let server: FastifyInstance['server'] | undefined;

/**
 * Once shutdown begins, every response asks the client to close its connection: the HTTP
 * server can then finish in-flight requests and close, instead of waiting for keep-alive
 * connections to time out. Requests still in flight after apiDrainMs (waiting on an unreachable
 * Redis, whose commands wait for a reconnection) have their connections closed, so the server's
 * close, and the shutdown after it, end.
 */
@Injectable()
export class ConnectionDraining implements BeforeApplicationShutdown {
  constructor(private readonly settings: WesSettings) {}

  beforeApplicationShutdown() {
    closing = true;
    const open = server;
    if (open) setTimeout(() => open.closeAllConnections(), this.settings.apiDrainMs).unref();
  }
}

export function closeConnectionsWhenShuttingDown(fastify: FastifyInstance): void {
  server = fastify.server;
  fastify.addHook('onSend', async (_request, reply, payload) => {
    if (closing) reply.header('connection', 'close');
    return payload;
  });
}
