import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { useStack } from '../helpers/e2e';
import { wesDocument } from '../helpers/wes-schema';

/** The server describes itself: its own OpenAPI document and a browsable page. */
const h = useStack({ workers: 1 });

const WES_PATHS = Object.keys(wesDocument.paths);

describe('GET /ga4gh/wes/v1/openapi.yaml', () => {
  it('is an OpenAPI 3 document with every WES path and method', async () => {
    const res = await fetch(h.client.url('/openapi.yaml'));
    expect(res.status).toBe(200);
    const text = await res.text();
    const doc = yaml.load(text) as any;
    expect(typeof doc).toBe('object');
    expect(String(doc.openapi)).toMatch(/^3\./);
    // Paths may be written relative to the server URL or with the /ga4gh/wes/v1 prefix.
    const paths: Record<string, any> = {};
    for (const [p, ops] of Object.entries(doc.paths ?? {})) paths[p.replace(/^\/ga4gh\/wes\/v1(?=\/)/, '')] = ops;
    for (const p of WES_PATHS) {
      expect(paths, `path ${p}`).toHaveProperty([p]);
      for (const method of Object.keys(wesDocument.paths[p]).filter((m) => ['get', 'post', 'put', 'delete'].includes(m))) {
        expect(paths[p], `${method.toUpperCase()} ${p}`).toHaveProperty([method]);
      }
    }
    // The extra endpoints of this server are documented too.
    const extra = Object.keys(paths).join(' ');
    expect(extra).toMatch(/\/runs\/\{[^}]+\}\/logs/);
    expect(extra).toMatch(/\/runs\/\{[^}]+\}\/outputs/);
  });
});

describe('GET /ga4gh/wes/v1/docs', () => {
  it('is an HTML page', async () => {
    const res = await fetch(h.client.url('/docs'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type') ?? '').toMatch(/text\/html/);
    expect((await res.text()).toLowerCase()).toContain('<html');
  });
});

describe('GET /ga4gh/wes/v1/service-info', () => {
  it('validates against ServiceInfo and says it speaks WES 1.1.0', async () => {
    const info = await h.client.getJson('/service-info');
    expect(info.supported_wes_versions).toContain('1.1.0');
    expect(info.workflow_type_versions.CWL.workflow_type_version).toEqual(expect.arrayContaining(['v1.0', 'v1.1', 'v1.2']));
    expect(Object.values(info.system_state_counts as Record<string, number>).every((n) => n === 0)).toBe(true);
    // No workflow allow-list configured: nothing about one.
    expect(info).not.toHaveProperty('workflow_allow_list');
  });
});
