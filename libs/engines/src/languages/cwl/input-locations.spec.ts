import { describe, expect, it } from 'vitest';
import { UnsafePathError } from '../../../../storage/src';
import { AttachmentIndex } from './input-locations';

const index = new AttachmentIndex(['main.cwl', 'tools/rev.cwl', 'data/in.txt', 'in.txt', 'data/sub/x.txt', 'my file.txt', '100%.txt']);

describe('AttachmentIndex.resolve', () => {
  it('finds relative names, raw or percent-decoded (a location is a URI reference)', () => {
    expect(index.resolve('data/in.txt', 'File')).toEqual({ kind: 'attachment', name: 'data/in.txt' });
    expect(index.resolve('./data/in.txt', 'File')).toEqual({ kind: 'attachment', name: 'data/in.txt' });
    expect(index.resolve('my%20file.txt', 'File')).toEqual({ kind: 'attachment', name: 'my file.txt' });
    expect(index.resolve('100%.txt', 'File')).toEqual({ kind: 'attachment', name: '100%.txt' });
    expect(index.resolve('data/missing.txt', 'File')).toEqual({ kind: 'missing', name: 'data/missing.txt' });
  });

  it('finds folders of attachments for a Directory, not for a File', () => {
    expect(index.resolve('data/', 'Directory')).toEqual({ kind: 'attachment', name: 'data' });
    expect(index.resolve('data/sub', 'Directory')).toEqual({ kind: 'attachment', name: 'data/sub' });
    expect(index.resolve('data', 'File')).toEqual({ kind: 'missing', name: 'data' });
    expect(index.resolve('data/in.txt', 'Directory')).toEqual({ kind: 'missing', name: 'data/in.txt' });
  });

  it("maps a client machine's file:// URL or path to the attachment that is the longest tail of it", () => {
    expect(index.resolve('file:///home/alice/project/data/in.txt', 'File')).toEqual({ kind: 'attachment', name: 'data/in.txt' });
    expect(index.resolve('file:///home/alice/elsewhere/in.txt', 'File')).toEqual({ kind: 'attachment', name: 'in.txt' });
    expect(index.resolve('/home/alice/project/data/in.txt', 'File')).toEqual({ kind: 'attachment', name: 'data/in.txt' });
    expect(index.resolve('file:///home/alice/my%20file.txt', 'File')).toEqual({ kind: 'attachment', name: 'my file.txt' });
    expect(index.resolve('file:///home/alice/project/data/sub/', 'Directory')).toEqual({ kind: 'attachment', name: 'data/sub' });
  });

  it('leaves a file:// URL naming no attachment a URL (the server side decides whether it may read it)', () => {
    expect(index.resolve('file:///etc/passwd', 'File')).toEqual({ kind: 'url', url: 'file:///etc/passwd' });
    expect(index.resolve('/etc/passwd', 'File')).toEqual({ kind: 'url', url: 'file:///etc/passwd' });
    expect(index.resolve('file:///home/alice/project/data', 'File')).toEqual({ kind: 'url', url: 'file:///home/alice/project/data' });
  });

  it('leaves other URLs as they are', () => {
    expect(index.resolve('https://example.org/data/in.txt', 'File')).toEqual({ kind: 'url', url: 'https://example.org/data/in.txt' });
    expect(index.resolve('s3://bucket/data/in.txt', 'File')).toEqual({ kind: 'url', url: 's3://bucket/data/in.txt' });
  });

  it('refuses relative names that leave the attachments', () => {
    expect(() => index.resolve('../in.txt', 'File')).toThrow(UnsafePathError);
    expect(() => index.resolve('data/../../in.txt', 'File')).toThrow(UnsafePathError);
  });
});
