import { describe, expect, it } from 'vitest';
import { normaliseTrsServer, parseTrsDescriptorUrl } from './trs-url';

const ID = '%23workflow%2Fgithub.com%2Forg%2Frepo';

describe('TRS descriptor URLs', () => {
  it("parse what the Dockstore CLI sends (PLAIN_ type, the primary descriptor's path escaped as one segment)", () => {
    expect(parseTrsDescriptorUrl(`https://dockstore.org/api/ga4gh/trs/v2/tools/${ID}/versions/v1.0/PLAIN_CWL/descriptor/%2FDockstore.cwl`)).toEqual({
      server: 'https://dockstore.org/api',
      toolId: '#workflow/github.com/org/repo',
      version: 'v1.0',
      type: 'PLAIN_CWL',
      relativePath: '/Dockstore.cwl',
    });
  });

  it('parse the other spellings: no relative path, PLAIN-CWL, lower case, a path in clear, a server at the root', () => {
    expect(parseTrsDescriptorUrl(`https://trs.example/ga4gh/trs/v2/tools/${ID}/versions/1/PLAIN_CWL/descriptor`)).toEqual({
      server: 'https://trs.example',
      toolId: '#workflow/github.com/org/repo',
      version: '1',
      type: 'PLAIN_CWL',
    });
    expect(parseTrsDescriptorUrl(`https://dockstore.org/api/ga4gh/trs/v2/tools/${ID}/versions/master/plain-CWL/descriptor/tools/rev.cwl`)).toMatchObject({
      type: 'plain-CWL',
      version: 'master',
      relativePath: 'tools/rev.cwl',
    });
    expect(parseTrsDescriptorUrl(`https://dockstore.org/api/ga4gh/trs/v2/tools/%23workflow%2Fgithub.com%2Forg%2Frepo%2Fname/versions/v%201/CWL/descriptor`)).toMatchObject({
      toolId: '#workflow/github.com/org/repo/name',
      version: 'v 1',
    });
  });

  it('refuse what is not one, or whose path could lead out of the tool', () => {
    for (const url of [
      'https://dockstore.org/api/ga4gh/trs/v2/tools/x/versions/1/PLAIN_CWL/files',
      'https://raw.githubusercontent.com/org/repo/main/wf.cwl',
      `https://dockstore.org/api/ga4gh/trs/v2/tools/${ID}/versions/1/PLAIN_CWL/descriptor?x=1`,
      `https://dockstore.org/api/ga4gh/trs/v2/tools/${ID}/versions/1/PLAIN_CWL/descriptor/..%2F..%2Fother.cwl`,
      `https://dockstore.org/api/ga4gh/trs/v2/tools/${ID}/versions/1/PLAIN_CWL/descriptor/%2E%2E/x.cwl`,
      `s3://bucket/ga4gh/trs/v2/tools/${ID}/versions/1/PLAIN_CWL/descriptor`,
      'not a url',
    ]) {
      expect(parseTrsDescriptorUrl(url), url).toBeUndefined();
    }
  });

  it('normalise a TRS server base URL', () => {
    expect(normaliseTrsServer('https://Dockstore.org/api/')).toBe('https://dockstore.org/api');
    expect(() => normaliseTrsServer('https://dockstore.org/api/ga4gh/trs/v2')).toThrow('before /ga4gh/trs/v2');
    expect(() => normaliseTrsServer('dockstore.org')).toThrow('absolute URL');
  });
});
