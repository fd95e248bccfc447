import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { LOG_REDACTION, redactCommand, redactUrlSecrets } from './logger';
import { requestIdOf } from './request-id';

describe('log redaction', () => {
  it('never writes an Authorization header or a password, wherever a line carries them', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logger = pino({ ...LOG_REDACTION }, sink);
    logger.info({ authorization: 'Bearer s3cret-1' }, 'a');
    logger.info({ headers: { authorization: 'Basic s3cret-2', host: 'h' } }, 'b');
    logger.info({ req: { headers: { authorization: 'Bearer s3cret-3', cookie: 's3cret-4' } } }, 'c');
    logger.info({ err: { headers: { authorization: 'Bearer s3cret-5' } }, user: { password: 's3cret-6' }, password: 's3cret-7' }, 'd');
    logger.info({ settings: { s3SecretAccessKey: 's3cret-8', s3InputSecretAccessKey: 's3cret-9', linkSigningKey: 's3cret-10', metricsToken: 's3cret-11', port: 8080 } }, 'e');
    logger.info({ credentials: { accessKeyId: 'AKIA', secretAccessKey: 's3cret-12', sessionToken: 's3cret-13' }, token: 's3cret-14' }, 'f');
    // Deeper than one level, on an error's own fields, in a child logger's bindings.
    logger.info({ a: { b: { c: { token: 's3cret-15' } } }, call: { req: { headers: { cookie: 's3cret-16', accept: 'x' } } } }, 'g');
    const clientError = Object.assign(new Error('upstream refused'), { status: 401, config: { headers: { authorization: 'Bearer s3cret-17' } } });
    logger.error({ err: clientError }, 'h');
    logger.child({ runId: 'r1', token: 's3cret-18' }).info({ s3: { secretAccessKey: 's3cret-19', region: 'eu' } }, 'i');
    const text = lines.join('');
    expect(text).not.toMatch(/s3cret/);
    expect(text).toContain('[Redacted]');
    expect(text).toContain('"host":"h"');
    expect(text).toContain('"port":8080');
    expect(text).toContain('"accept":"x"');
    expect(text).toContain('"status":401');
    expect(text).toContain('"message":"upstream refused"');
    expect(text).toContain('"region":"eu"');
    expect(text.match(/\[Redacted\]/g)).toHaveLength(19);
  });
});

describe('URL credential redaction', () => {
  const capture = () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    return { lines, logger: pino({ ...LOG_REDACTION }, sink) };
  };

  it("replaces a signed link's signature and S3 presigned credentials, leaving the rest of the URL", () => {
    expect(redactUrlSecrets('GET /ga4gh/wes/v1/runs/r/logs/stdout?expires=1800000000&signature=AbC-_x9')).toBe(
      'GET /ga4gh/wes/v1/runs/r/logs/stdout?expires=1800000000&signature=[Redacted]',
    );
    expect(redactUrlSecrets('/o?signature=sig1&x=1')).toBe('/o?signature=[Redacted]&x=1');
    expect(redactUrlSecrets('https://s3/b/k?X-Amz-Credential=AKIA%2Fx&X-Amz-Signature=abcdef&X-Amz-Expires=60')).toBe(
      'https://s3/b/k?X-Amz-Credential=[Redacted]&X-Amz-Signature=[Redacted]&X-Amz-Expires=60',
    );
    expect(redactUrlSecrets('no query, signature=plain text')).toBe('no query, signature=plain text');
  });

  it('redacts them in every string of a line: fields, nested objects, errors, the message, Nest-style messages', () => {
    const { lines, logger } = capture();
    const url = (n: number) => `/ga4gh/wes/v1/runs/r/outputs/a.txt?expires=1800000000&signature=s3cret-sig-${n}`;
    logger.error({ url: url(1), method: 'GET' }, 'request failed');
    logger.warn({ req: { url: url(2) }, list: [url(3)] }, 'nested');
    logger.error({ err: new TypeError(`cannot fetch ${url(4)}`) }, 'error');
    logger.info(`fetched ${url(5)}`);
    logger.info({ context: 'x' }, `fetched ${url(6)}`);
    const text = lines.join('');
    expect(text).not.toMatch(/s3cret-sig/);
    // Six lines, the error's twice (its message and its stack).
    expect(text.match(/signature=\[Redacted\]/g)).toHaveLength(7);
    expect(text).toContain('"method":"GET"');
    expect(text).toContain('"message":"cannot fetch /ga4gh/wes/v1/runs/r/outputs/a.txt?expires=1800000000&signature=[Redacted]"');
  });
});

describe('engine command redaction', () => {
  it('takes out the values of credential options and URL passwords, leaving every other argument', () => {
    expect(
      redactCommand([
        'toil-cwl-runner',
        '--jobStore',
        '/wes/tmp/js',
        '--awsSecretAccessKey',
        's3cret-1',
        '--token=s3cret-2',
        '--api-key',
        's3cret-3',
        'https://user:s3cret-4@host/x.cwl',
        'https://s3/b/k?X-Amz-Signature=s3cret-5',
        '/wes/attachments/main.cwl',
      ]),
    ).toEqual([
      'toil-cwl-runner',
      '--jobStore',
      '/wes/tmp/js',
      '--awsSecretAccessKey',
      '[Redacted]',
      '--token=[Redacted]',
      '--api-key',
      '[Redacted]',
      'https://user:[Redacted]@host/x.cwl',
      'https://s3/b/k?X-Amz-Signature=[Redacted]',
      '/wes/attachments/main.cwl',
    ]);
  });
});

describe('request ids', () => {
  it("keeps a client's sane x-request-id and makes one for anything else", () => {
    expect(requestIdOf('abc-123_x.y:z')).toBe('abc-123_x.y:z');
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    for (const bad of [undefined, '', 'a b', 'x'.repeat(129), 'evil"\n{"', ['a', 'b']]) expect(requestIdOf(bad as string | undefined)).toMatch(uuid);
  });
});
