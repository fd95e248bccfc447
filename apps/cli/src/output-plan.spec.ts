import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseJson, stringifyJson } from '../../../libs/json/src';
import { planDownloads } from './output-plan';

const OUT = '/data/out';
const API = 'http://wes.test/ga4gh/wes/v1/runs/r1/outputs';
const file = (name: string, rel = name, extra: Record<string, unknown> = {}) => ({
  class: 'File',
  basename: name,
  location: `${API}/${rel}`,
  ...extra,
});

describe('planDownloads', () => {
  it('puts each top-level File by its basename in the output folder, secondaryFiles beside it', () => {
    const plan = planDownloads(
      { bam: file('x.bam', 'x.bam', { secondaryFiles: [file('x.bam.bai')], size: 3, checksum: 'sha1$abc' }), other: file('y.txt', 'sub/y.txt') },
      OUT,
    );
    expect(plan.files).toEqual([
      { url: `${API}/x.bam`, target: '/data/out/x.bam', size: '3', checksum: 'sha1$abc' },
      { url: `${API}/x.bam.bai`, target: '/data/out/x.bam.bai', size: undefined, checksum: undefined },
      { url: `${API}/sub/y.txt`, target: '/data/out/y.txt', size: undefined, checksum: undefined },
    ]);
    const outputs = plan.outputs as any;
    expect(outputs.bam).toMatchObject({ location: 'file:///data/out/x.bam', path: '/data/out/x.bam', basename: 'x.bam', size: 3 });
    expect(outputs.bam.secondaryFiles[0]).toMatchObject({ location: 'file:///data/out/x.bam.bai', path: '/data/out/x.bam.bai' });
  });

  it('names later files of the same name as cwltool does: name_2, name_3', () => {
    const plan = planDownloads({ a: file('out.txt', 'out.txt'), b: file('out.txt', 'out.txt_2'), c: [file('out.txt', 'x/out.txt')] }, OUT);
    expect(plan.files.map((f) => path.basename(f.target))).toEqual(['out.txt', 'out.txt_2', 'out.txt_3']);
    expect((plan.outputs as any).c[0].path).toBe('/data/out/out.txt_3');
  });

  it('downloads a location named twice once, and both objects point at the one copy', () => {
    const plan = planDownloads({ a: file('same.txt'), b: file('same.txt') }, OUT);
    expect(plan.files).toHaveLength(1);
    expect((plan.outputs as any).b.path).toBe('/data/out/same.txt');
  });

  it('walks a Directory listing into nested folders, empty ones included', () => {
    const dir = {
      class: 'Directory',
      basename: 'copy',
      location: `${API}/copy`,
      listing: [
        { class: 'Directory', basename: 'empty', location: `${API}/copy/empty`, listing: [] },
        { class: 'Directory', basename: 'sub', location: `${API}/copy/sub`, listing: [file('b.txt', 'copy/sub/b.txt')] },
        file('a.txt', 'copy/a.txt'),
      ],
    };
    const plan = planDownloads({ dir }, OUT);
    expect(plan.files.map((f) => f.target)).toEqual(['/data/out/copy/sub/b.txt', '/data/out/copy/a.txt']);
    expect(plan.folders).toEqual(expect.arrayContaining(['/data/out/copy', '/data/out/copy/empty', '/data/out/copy/sub']));
    const out = plan.outputs as any;
    expect(out.dir).toMatchObject({ location: 'file:///data/out/copy', path: '/data/out/copy' });
    expect(out.dir.listing[1].listing[0].path).toBe('/data/out/copy/sub/b.txt');
    expect(plan.unlisted).toEqual([]);
  });

  it('names the Directories that came without a listing (their files cannot be known)', () => {
    const plan = planDownloads({ d: { class: 'Directory', basename: 'd', location: `${API}/d` } }, OUT);
    expect(plan.unlisted).toEqual(['/data/out/d']);
    expect(plan.folders).toEqual(['/data/out/d']);
  });

  it('takes the name from the URL when there is no basename, and encodes the local URL', () => {
    const plan = planDownloads({ a: { class: 'File', location: `${API}/a%20b%23c.txt` } }, OUT);
    expect(plan.files[0].target).toBe('/data/out/a b#c.txt');
    expect((plan.outputs as any).a.location).toBe('file:///data/out/a%20b%23c.txt');
  });

  it('refuses names that would leave the output folder', () => {
    for (const name of ['..', '.', 'a/b', '']) {
      expect(() => planDownloads({ a: file(name, 'x') }, OUT)).toThrow(/unusable name/);
    }
  });

  it('keeps every other value exact, big numbers included', () => {
    const outputs = parseJson(`{"n": 9007199254740993, "f": {"class": "File", "basename": "f", "location": "${API}/f", "size": 12345678901234567890}}`);
    const plan = planDownloads(outputs, OUT);
    expect(stringifyJson(plan.outputs)).toBe(
      '{"n":9007199254740993,"f":{"class":"File","basename":"f","location":"file:///data/out/f","size":12345678901234567890,"path":"/data/out/f"}}',
    );
    expect(plan.files[0].size).toBe('12345678901234567890');
  });
});
