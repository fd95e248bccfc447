import { describe, expect, it } from 'vitest';
import { parseJson, stringifyJson } from '../../../../json/src';
import { CwlValueTooDeepError, forEachFileObject, locationOf, mapFileObjects, mapFileObjectsSync, MAX_CWL_VALUE_DEPTH } from './file-objects';

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

describe('depth', () => {
  /** `{a: {a: ... leaf}}`, `depth` objects deep (the value itself counting one), built without recursion. */
  const deep = (depth: number, leaf: unknown = 'x'): unknown => {
    let v = leaf;
    for (let i = 0; i < depth; i++) v = { a: v };
    return v;
  };
  const file = { class: 'File', location: 'in.txt' };

  it('walks a value nested exactly MAX_CWL_VALUE_DEPTH (256) deep, File included', async () => {
    expect(MAX_CWL_VALUE_DEPTH).toBe(256);
    // 255 objects around the File: the File is the 256th level.
    const value = deep(255, file);
    const seen: string[] = [];
    forEachFileObject(value, (_obj, where) => seen.push(where));
    expect(seen).toEqual([Array(255).fill('a').join('.')]);
    const mapped = await mapFileObjects(value, (obj) => ({ ...obj, location: 'mapped' }));
    expect(stringifyJson(mapped)).toBe(stringifyJson(deep(255, { class: 'File', location: 'mapped' })));
  });

  it.each([
    ['257 levels', 257],
    ['100,000 levels (past any call stack)', 100_000],
  ])('refuses a value nested %s with CwlValueTooDeepError (never a stack overflow)', async (_what, depth) => {
    const value = deep(depth - 1, [1]);
    expect(() => forEachFileObject(value, () => undefined)).toThrow(CwlValueTooDeepError);
    expect(() => forEachFileObject(value, () => undefined)).toThrow(/^nested deeper than 256 levels \(arrays and objects\) at a\.a\.a.*…$/);
    await expect(mapFileObjects(value, (o) => o)).rejects.toThrow(CwlValueTooDeepError);
    expect(() => mapFileObjectsSync(value, (o) => o)).toThrow(CwlValueTooDeepError);
  });

  it('counts arrays as levels too, and names the place', () => {
    let value: unknown = 'x';
    for (let i = 0; i < 300; i++) value = [value];
    expect(() => forEachFileObject({ reads: value }, () => undefined)).toThrow(/at reads\[0\]\[0\]/);
  });

  it('walks wide values (100,000 Files side by side) in document order', async () => {
    const wide = { files: Array.from({ length: 100_000 }, (_, i) => ({ class: 'File', location: `f${i}` })) };
    let n = 0;
    forEachFileObject(wide, (obj) => expect(obj.location).toBe(`f${n++}`));
    expect(n).toBe(100_000);
    const out = (await mapFileObjects(wide, (obj) => ({ ...obj, location: `m${obj.location}` }))) as { files: { location: string }[] };
    expect(out.files[99_999].location).toBe('mf99999');
  });
});

describe('mapFileObjectsSync', () => {
  it('rebuilds exactly as mapFileObjects does, in the same order', async () => {
    const order: string[] = [];
    const sync = mapFileObjectsSync(params, (obj, where) => {
      order.push(where);
      return { ...obj, location: `mapped:${locationOf(obj) ?? 'none'}` };
    });
    expect(stringifyJson(sync)).toBe(stringifyJson(await mapFileObjects(params, (obj) => ({ ...obj, location: `mapped:${locationOf(obj) ?? 'none'}` }))));
    expect(order).toEqual(['reads[0].secondaryFiles[0]', 'reads[0]', 'dir.listing[0]', 'dir', 'record.f']);
  });

  it('keeps a __proto__ key an ordinary key of the copy (as libs/json reads it)', () => {
    const value = parseJson('{"__proto__": {"class": "File", "location": "a"}, "b": 1}');
    const out = mapFileObjectsSync(value, (obj) => ({ ...obj, location: 'm' })) as Record<string, unknown>;
    expect(Object.keys(out)).toEqual(['__proto__', 'b']);
    expect(stringifyJson(out)).toBe('{"__proto__":{"class":"File","location":"m"},"b":1}');
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
  });
});
