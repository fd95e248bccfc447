import { describe, expect, it } from 'vitest';
import { parseJson, stringifyJson } from '../../../../json/src';
import { forEachFileObject, locationOf, mapFileObjects } from './file-objects';

const params = parseJson(`{
  "n": 9007199254740993,
  "reads": [{"class": "File", "location": "a.bam", "secondaryFiles": [{"class": "File", "path": "a.bam.bai"}]}],
  "dir": {"class": "Directory", "location": "d", "listing": [{"class": "File", "location": "d/x"}]},
  "record": {"f": {"class": "File", "contents": "inline"}, "s": "location"}
}`);

describe('forEachFileObject', () => {
  it('visits every File and Directory, nested ones included, naming where each is', () => {
    const seen: string[] = [];
    forEachFileObject(params, (obj, where) => seen.push(`${where}=${locationOf(obj) ?? '-'}`));
    expect(seen).toEqual(['reads[0]=a.bam', 'reads[0].secondaryFiles[0]=a.bam.bai', 'dir=d', 'dir.listing[0]=d/x', 'record.f=-']);
  });
});

describe('mapFileObjects', () => {
  it('replaces children before their parent, and copies everything else exactly (big numbers too)', async () => {
    const order: string[] = [];
    const out = await mapFileObjects(params, (obj, where) => {
      order.push(where);
      return { ...obj, location: `mapped:${locationOf(obj) ?? 'none'}` };
    });
    expect(order).toEqual(['reads[0].secondaryFiles[0]', 'reads[0]', 'dir.listing[0]', 'dir', 'record.f']);
    expect(stringifyJson(out)).toBe(
      '{"n":9007199254740993,"reads":[{"class":"File","location":"mapped:a.bam","secondaryFiles":[{"class":"File","path":"a.bam.bai","location":"mapped:a.bam.bai"}]}],' +
        '"dir":{"class":"Directory","location":"mapped:d","listing":[{"class":"File","location":"mapped:d/x"}]},' +
        '"record":{"f":{"class":"File","contents":"inline","location":"mapped:none"},"s":"location"}}',
    );
  });
});

describe('a record field named location or path that holds a File', () => {
  const nested = parseJson(`{
    "rec": {"location": {"class": "File", "location": "http://example.org/a"}, "path": {"class": "File", "path": "b"}},
    "odd": {"class": "File", "location": {"class": "File", "location": "c"}}
  }`);

  it('is visited by forEachFileObject', () => {
    const seen: string[] = [];
    forEachFileObject(nested, (obj, where) => seen.push(`${where}=${locationOf(obj) ?? '-'}`));
    expect(seen).toEqual(['rec.location=http://example.org/a', 'rec.path=b', 'odd=-', 'odd.location=c']);
  });

  it('is replaced by mapFileObjects like any other File (the engine reads it)', async () => {
    const out = (await mapFileObjects(nested, (obj) => ({ ...obj, mapped: true }))) as any;
    expect(out.rec.location).toEqual({ class: 'File', location: 'http://example.org/a', mapped: true });
    expect(out.rec.path).toEqual({ class: 'File', path: 'b', mapped: true });
    expect(out.odd.location).toEqual({ class: 'File', location: 'c', mapped: true });
    expect(out.odd.mapped).toBe(true);
  });
});
