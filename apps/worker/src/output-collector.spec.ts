import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CWL } from '../../../libs/engines/src';
import { parseJson, stringifyJson } from '../../../libs/json/src';
import { collectOutputs, UnusableOutputError } from './output-collector';

let out: string;
let uploaded: Map<string, string>;
const upload = async (storePath: string, file: string) => {
  uploaded.set(storePath, file);
};
const url = (rel: string) => pathToFileURL(path.join(out, rel)).href;
/** Without a sandbox the engine's paths are the worker's. */
const same = (p: string) => p;
const write = (rel: string, text: string) => {
  mkdirSync(path.dirname(path.join(out, rel)), { recursive: true });
  writeFileSync(path.join(out, rel), text);
};

beforeEach(() => {
  out = mkdtempSync(path.join(os.tmpdir(), 'wes-outputs-'));
  uploaded = new Map();
});
afterEach(() => rmSync(out, { recursive: true, force: true }));

describe('collectOutputs', () => {
  it('stores a renamed output (cwltool\'s out.txt_2) under <name>/<basename>, so its location ends with its basename', async () => {
    write('out.txt', 'one\n');
    write('out.txt_2', 'two\n');
    const stored = (await collectOutputs(
      CWL.files,
      { a: { class: 'File', location: url('out.txt'), basename: 'out.txt' }, b: { class: 'File', location: url('out.txt_2'), basename: 'out.txt' } },
      out,
      same,
      upload,
    )) as any;
    expect(stored.a.location).toBe('wes-output:out.txt');
    expect(stored.b.location).toBe('wes-output:out.txt_2/out.txt');
    expect([...uploaded.entries()].sort()).toEqual([
      ['out.txt', path.join(out, 'out.txt')],
      ['out.txt_2/out.txt', path.join(out, 'out.txt_2')],
    ]);
  });

  it('gives every File its size and sha1, and a Directory without listing its complete listing (empty folders too)', async () => {
    write('d/b.txt', 'bee\n');
    write('d/sub dir/ü#1.txt', 'x\n');
    mkdirSync(path.join(out, 'd/empty'));
    write('f.txt', 'hello\n');
    const stored = (await collectOutputs(CWL.files, { d: { class: 'Directory', location: url('d') }, f: { class: 'File', path: path.join(out, 'f.txt') } }, out, same, upload)) as any;
    expect(stored.f).toEqual({ class: 'File', location: 'wes-output:f.txt', basename: 'f.txt', size: 6, checksum: 'sha1$f572d396fae9206628714fb2ce00f72e94f2258f' });
    // Checksums as `sha1sum` prints them.
    expect(stored.d.listing).toEqual([
      { class: 'File', location: 'wes-output:d/b.txt', basename: 'b.txt', size: 4, checksum: 'sha1$b34c5d81fb400237616a41e1ba7129f6e31a3fa5' },
      { class: 'Directory', location: 'wes-output:d/empty', basename: 'empty', listing: [] },
      {
        class: 'Directory',
        location: 'wes-output:d/sub dir',
        basename: 'sub dir',
        listing: [{ class: 'File', location: 'wes-output:d/sub dir/ü#1.txt', basename: 'ü#1.txt', size: 2, checksum: 'sha1$6fcf9dfbd479ed82697fee719b9f8c610a11ff2a' }],
      },
    ]);
    expect([...uploaded.keys()].sort()).toEqual(['d/b.txt', 'd/sub dir/ü#1.txt', 'f.txt']);
  });

  it("keeps the engine's other fields and numbers exactly, but gives the size and sha1 of the bytes uploaded", async () => {
    write('a.txt', 'a');
    // The engine's figures may be stale (a process of the run may have changed the file since): ours are of what is served.
    const outputs = parseJson(`{"n": 4200000000000000000000000000000000000000000, "a": {"class": "File", "location": "${url('a.txt')}", "basename": "a.txt", "size": 7, "checksum": "sha1$stale", "format": "edam:x"}}`);
    expect(stringifyJson(await collectOutputs(CWL.files, outputs, out, same, upload))).toBe(
      '{"n":4200000000000000000000000000000000000000000,"a":{"class":"File","location":"wes-output:a.txt","basename":"a.txt","size":1,"checksum":"sha1$86f7e437faa5a7fce15d1ddcb9eaeaea377667b8","format":"edam:x"}}',
    );
  });

  it('refuses a link leading out of the output folder (a File, or inside a Directory), and takes one that stays inside', async () => {
    write('real.txt', 'inside\n');
    symlinkSync(path.join(out, 'real.txt'), path.join(out, 'inner-link.txt'));
    symlinkSync('/etc/passwd', path.join(out, 'leak.txt'));
    mkdirSync(path.join(out, 'd'));
    symlinkSync('/etc/passwd', path.join(out, 'd', 'leak'));
    const ok = (await collectOutputs(CWL.files, { x: { class: 'File', location: url('inner-link.txt') } }, out, same, upload)) as any;
    expect(ok.x.size).toBe(7);
    expect(uploaded.get('inner-link.txt')).toBe(path.join(out, 'real.txt'));
    uploaded.clear();
    await expect(collectOutputs(CWL.files, { x: { class: 'File', location: url('leak.txt') } }, out, same, upload)).rejects.toThrow(/leak.txt is a link leading outside/);
    await expect(collectOutputs(CWL.files, { x: { class: 'Directory', location: url('d') } }, out, same, upload)).rejects.toThrow(/d\/leak is a link leading outside/);
    expect(uploaded.size).toBe(0);
  });

  it("maps the engine's paths to the worker's (a sandbox sees the run under /wes)", async () => {
    write('s.txt', 'sandboxed');
    const toHost = (p: string) => (p.startsWith('/wes/outputs/') ? path.join(out, p.slice('/wes/outputs/'.length)) : undefined);
    const stored = (await collectOutputs(CWL.files, { s: { class: 'File', location: 'file:///wes/outputs/s.txt' } }, out, toHost, upload)) as any;
    expect(stored.s.location).toBe('wes-output:s.txt');
    expect(uploaded.get('s.txt')).toBe(path.join(out, 's.txt'));
    await expect(collectOutputs(CWL.files, { s: { class: 'File', location: 'file:///etc/hostname' } }, out, toHost, upload)).rejects.toThrow(UnusableOutputError);
  });

  it('refuses an output outside the output folder, and one that does not exist, uploading nothing', async () => {
    await expect(collectOutputs(CWL.files, { x: { class: 'File', location: 'file:///etc/passwd' } }, out, same, upload)).rejects.toThrow(UnusableOutputError);
    await expect(collectOutputs(CWL.files, { x: { class: 'File', location: url('missing.txt') } }, out, same, upload)).rejects.toThrow(/output x \(missing.txt\) does not exist/);
    expect(uploaded.size).toBe(0);
  });

  it('refuses an output whose name is longer than a store path may be (the run failed, not the server)', async () => {
    const long = 'n'.repeat(230);
    write(long, 'x\n');
    const outputs = { o: { class: 'File', location: url(long), basename: long } };
    await expect(collectOutputs(CWL.files, outputs, out, same, upload)).rejects.toBeInstanceOf(UnusableOutputError);
    await expect(collectOutputs(CWL.files, outputs, out, same, upload)).rejects.toThrow(/name of 230 bytes, longer than the 200 bytes.*cannot be stored/);
    write('d/' + long, 'y\n');
    await expect(collectOutputs(CWL.files, { d: { class: 'Directory', location: url('d') } }, out, same, upload)).rejects.toThrow(/name of 230 bytes/);
    expect(uploaded.size).toBe(0);
  });

  it('refuses an output object nested deeper than 256 levels (the run failed, not the worker)', async () => {
    write('a.txt', 'a');
    let deep: unknown = { class: 'File', location: url('a.txt') };
    for (let i = 0; i < 300; i++) deep = { a: deep };
    await expect(collectOutputs(CWL.files, { deep }, out, same, upload)).rejects.toBeInstanceOf(UnusableOutputError);
    await expect(collectOutputs(CWL.files, { deep }, out, same, upload)).rejects.toThrow(/^output object is nested deeper than 256 levels \(arrays and objects\) at deep\.a\.a/);
    expect(uploaded.size).toBe(0);
  });
});
