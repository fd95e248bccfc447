import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { UrlFetcher } from '../../../../libs/fetch/src';
import { LocalObjectStore } from '../../../../libs/storage/src';
import { StageStep } from './stage-step';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'wes-stage-step-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const step = new StageStep(path.join(tmp, 'work'), new LocalObjectStore(path.join(tmp, 'store')), {} as UrlFetcher, {
  kind: 'none',
  uid: 0,
  gid: 0,
  network: false,
  readOnlyPaths: [],
  hiddenFiles: [],
});

describe('a run\'s scratch folder', () => {
  it('is made under the work folder (made first when missing), one per run', () => {
    const a = step.makeScratch('run-1');
    const b = step.makeScratch('run-1');
    expect(a).not.toBe(b);
    expect(path.dirname(a)).toBe(path.join(tmp, 'work'));
    expect(path.basename(a).startsWith('run-1-')).toBe(true);
  });

  it('is removed whole, small or large, without following a link out of it', async () => {
    const outside = path.join(tmp, 'outside');
    mkdirSync(outside);
    writeFileSync(path.join(outside, 'keep.txt'), 'kept');
    for (const files of [3, 600]) {
      const scratch = step.makeScratch('run-2');
      mkdirSync(path.join(scratch, 'outputs', 'deep'), { recursive: true });
      for (let i = 0; i < files; i++) writeFileSync(path.join(scratch, 'outputs', 'deep', `f${i}`), 'x');
      // What an engine may leave: links to a folder and a file outside the run.
      symlinkSync(outside, path.join(scratch, 'outputs', 'link-to-folder'));
      symlinkSync(path.join(outside, 'keep.txt'), path.join(scratch, 'outputs', 'link-to-file'));
      await step.removeScratch(scratch);
      expect(existsSync(scratch)).toBe(false);
      expect(readdirSync(outside)).toEqual(['keep.txt']);
    }
  });

  it('already gone: nothing to do', async () => {
    await expect(step.removeScratch(path.join(tmp, 'work', 'never-made'))).resolves.toBeUndefined();
  });
});
