import { BeforeApplicationShutdown, Injectable } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';

let closing = false;

/**
 * Once shutdown begins, every response asks the client to close its connection: the HTTP
 * server can then finish in-flight requests and close, instead of waiting for keep-alive
 * connections to time out.
 */
@Injectable()
export class ConnectionDraining implements BeforeApplicationShutdown {
  beforeApplicationShutdown() {
    closing = true;
  }
}

export function closeConnectionsWhenShuttingDown(fastify: FastifyInstance): void {
  fastify.addHook('onSend', async (_request, reply, payload) => {
    if (closing) reply.header('connection', 'close');
    return payload;
  });
}
