import { describe, expect, it } from 'vitest';
import { corsPreflight } from '../helpers/client';
import { useStack } from '../helpers/e2e';

/**
 * Browser clients (sapporo-web style, our dashboard) call the API from another origin: the
 * preflight of a request with an Authorization header is answered for the allowed origins
 * (WES_CORS_ORIGINS), and a page may read the headers it needs to follow a log by Range.
 */
const APP = 'https://app.example.org';

describe('with WES_CORS_ORIGINS set', () => {
  const h = useStack({ workers: 0, apiEnv: { WES_CORS_ORIGINS: `${APP}, https://other.example.org` } });

  it('answers the preflight of an allowed origin sending Authorization', async () => {
    const res = await corsPreflight(h.client.url('/runs'), APP);
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(APP);
    expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');
    expect(res.headers.get('access-control-allow-methods')).toContain('POST');
  });

  it('lets a page of an allowed origin read a ranged log and its Content-Range', async () => {
    const res = await fetch(h.client.url('/service-info'), { headers: { origin: APP } });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe(APP);
    const exposed = res.headers.get('access-control-expose-headers')?.toLowerCase() ?? '';
    for (const header of ['content-range', 'accept-ranges', 'content-length']) expect(exposed).toContain(header);
    expect(res.headers.get('vary')?.toLowerCase()).toContain('origin');
  });

  it('gives no CORS headers to an origin that is not listed', async () => {
    const res = await corsPreflight(h.client.url('/runs'), 'https://evil.example.net');
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    const get = await fetch(h.client.url('/service-info'), { headers: { origin: 'https://evil.example.net' } });
    expect(get.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('by default', () => {
  const h = useStack({ workers: 0 });

  it('allows no other origin', async () => {
    const res = await fetch(h.client.url('/service-info'), { headers: { origin: APP } });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });
});
