import { Controller, Get, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { createReadStream } from 'node:fs';
import { Public } from '../auth/public.decorator';
import { OPENAPI_DOCUMENT } from '../version';

/** This API's own OpenAPI document (openapi/wes.openapi.yaml); the browsable page is at /docs. */
@Public()
@Controller()
export class OpenApiController {
  @Get('openapi.yaml')
  document(@Res() reply: FastifyReply) {
    reply.header('content-type', 'application/yaml; charset=utf-8').send(createReadStream(OPENAPI_DOCUMENT));
  }
}
