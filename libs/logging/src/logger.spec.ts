import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { REDACTED_PATHS } from './logger';

describe('log redaction', () => {
  it('never writes an Authorization header or a password, wherever a line carries them', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logger = pino({ redact: REDACTED_PATHS }, sink);
    logger.info({ authorization: 'Bearer s3cret-1' }, 'a');
    logger.info({ headers: { authorization: 'Basic s3cret-2', host: 'h' } }, 'b');
    logger.info({ req: { headers: { authorization: 'Bearer s3cret-3', cookie: 's3cret-4' } } }, 'c');
    logger.info({ err: { headers: { authorization: 'Bearer s3cret-5' } }, user: { password: 's3cret-6' }, password: 's3cret-7' }, 'd');
    const text = lines.join('');
    expect(text).not.toMatch(/s3cret/);
    expect(text).toContain('[Redacted]');
    expect(text).toContain('"host":"h"');
  });
});
