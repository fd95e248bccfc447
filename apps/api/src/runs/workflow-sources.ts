import { Inject, Injectable } from '@nestjs/common';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import yauzl from 'yauzl';
import { WesSettings } from '../../../../libs/config/src';
import type { DocumentReferenceKind, LanguageDefinition } from '../../../../libs/engines/src';
import { FetchFailedError, FetchRefusedError, UrlFetcher } from '../../../../libs/fetch/src';
import { OBJECT_STORE } from '../../../../libs/platform/src';
import { runObjectKeys } from '../../../../libs/runs/src';
import { ObjectStore, PathSet, safeRelativePath, UnsafePathError } from '../../../../libs/storage/src';
import type { DocumentSource } from '../../../../libs/workflow-allow-list/src';
import { BadRequestError, PayloadTooLargeError } from '../common/wes-errors';

/** How deep and how wide the import of a URL workflow's relative references may go. */
const MAX_IMPORT_DEPTH = 5;
const MAX_IMPORTED_FILES = 100;

/** Regular file or folder entries only: a zip entry whose Unix mode says link (or device) is refused. */
function entryKind(entry: yauzl.Entry): 'file' | 'folder' | 'other' {
  const mode = (entry.externalFileAttributes >>> 16) & 0o170000;
  if (entry.fileName.endsWith('/')) return mode === 0 || mode === 0o040000 ? 'folder' : 'other';
  return mode === 0 || mode === 0o100000 ? 'file' : 'other';
}

/** A reference the import follows: to another document, or a text file, loaded with the one that names it. */
const IMPORTED_KINDS: ReadonlySet<DocumentReferenceKind> = new Set(['document', 'include']);

/** A document of the language read from its text; undefined when it is not one. */
function readWorkflowDocument(language: LanguageDefinition, text: string): unknown {
  try {
    const doc = language.readDocument(text);
    return language.isWorkflowDocument(doc) ? doc : undefined;
  } catch {
    return undefined;
  }
}

/** The relative references of a parsed document that the import fetches (its language's walker finds them). */
function relativeReferences(language: LanguageDefinition, doc: unknown): Set<string> {
  const out = new Set<string>();
  for (const { ref, kind } of language.documentReferences(doc)) {
    if (IMPORTED_KINDS.has(kind) && !/^[A-Za-z][A-Za-z0-9+.-]*:/.test(ref) && !ref.startsWith('#')) out.add(ref.split('#')[0]);
  }
  return out;
}

/**
 * Brings a run's workflow into its attachment folder in the object store, from wherever the
 * client pointed: an http(s)/s3/file URL (fetched, checked to be a document of its language, with the
 * documents it references by relative path), or a zip among the attachments (unpacked under
 * the same path rules and limits as attachments).
 */
@Injectable()
export class WorkflowSources {
  constructor(
    private readonly settings: WesSettings,
    private readonly fetcher: UrlFetcher,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
  ) {}

  /** Translates fetch errors into 400s naming the field. */
  private asClientError(field: string, err: unknown): never {
    if (err instanceof FetchRefusedError || err instanceof FetchFailedError) throw new BadRequestError(`${field}: ${err.message}`);
    throw err;
  }

  /** Why the workers may not fetch `url` (a 400's reason), or undefined when they may. */
  whyRefused(url: string): string | undefined {
    try {
      this.fetcher.check(url);
      return undefined;
    } catch (err) {
      if (err instanceof FetchRefusedError || err instanceof FetchFailedError) return err.message;
      throw err;
    }
  }

  checkUrl(field: string, url: string): void {
    try {
      this.fetcher.check(url);
    } catch (err) {
      this.asClientError(field, err);
    }
  }

  /**
   * Fetches the workflow at `url` and the documents it references relatively (same folder or
   * below, bounded depth and count), stores them as attachments, and returns the attachment
   * name of the main document and of every stored file, and where each was fetched from.
   */
  async importUrl(runId: string, url: string, taken: string[], language: LanguageDefinition): Promise<{ main: string; stored: string[]; sources: Map<string, DocumentSource> }> {
    const [base, fragment] = url.split('#', 2);
    let main: string | undefined;
    const stored: string[] = [];
    const sources = new Map<string, DocumentSource>();
    const queue: { url: string; name: string; depth: number }[] = [];
    // A TRS descriptor URL ends with the path of the document in its repository, escaped as one
    // segment and absolute (the Dockstore CLI sends `.../descriptor/%2FDockstore.cwl`).
    const mainName = safeName(decodeURIComponent(new URL(base).pathname.split('/').pop() || language.mainDocument.names[0]).replace(/^\/+/, '') || language.mainDocument.names[0]);
    queue.push({ url: base, name: mainName, depth: 0 });
    const seen = new Set<string>();
    const names = new PathSet(taken);
    while (queue.length) {
      const item = queue.shift()!;
      if (seen.has(item.name)) continue;
      seen.add(item.name);
      if (names.has(item.name)) throw new BadRequestError(`workflow_url: "${item.name}" is also an attachment's name`);
      addName(names, item.name, 'workflow_url');
      if (stored.length >= MAX_IMPORTED_FILES) throw new BadRequestError(`workflow_url: the workflow references more than ${MAX_IMPORTED_FILES} documents`);
      let text: string;
      try {
        const fetched = await this.fetcher.fetchText(item.url);
        text = fetched.text;
        sources.set(item.name, { url: item.url, finalUrl: fetched.finalUrl });
      } catch (err) {
        this.asClientError(item.depth === 0 ? 'workflow_url' : `workflow_url (referenced ${item.url})`, err);
      }
      const doc = readWorkflowDocument(language, text);
      if (item.depth === 0 && !doc) throw new BadRequestError(`workflow_url: ${item.url} is not ${language.documentDescription}`);
      await this.store.put(runObjectKeys.attachment(runId, item.name), text);
      stored.push(item.name);
      main ??= item.name;
      if (!doc || item.depth >= MAX_IMPORT_DEPTH) continue;
      for (const ref of relativeReferences(language, doc)) {
        const refUrl = new URL(ref, item.url).href;
        const name = path.posix.normalize(path.posix.join(path.posix.dirname(item.name), ref));
        // Only what lies in the main document's folder or below keeps its relative layout.
        if (name.startsWith('..') || !refUrl.startsWith(new URL('.', base).href)) continue;
        queue.push({ url: refUrl, name: safeName(name), depth: item.depth + 1 });
      }
    }
    return { main: fragment ? `${main}#${fragment}` : main!, stored, sources };
  }

  /**
   * Unpacks a zip attachment into the run's attachment folder: entry names follow the
   * attachment rules (no `..`, no absolute path, no link), and the entry count, each entry's
   * size and the total are bounded while the bytes are read (not as the zip claims them).
   */
  async unpackZip(runId: string, zipName: string, taken: string[]): Promise<string[]> {
    const dir = await mkdtemp(path.join(tmpdir(), 'wes-zip-'));
    try {
      const zipFile = path.join(dir, 'upload.zip');
      const { body } = await this.store.get(runObjectKeys.attachment(runId, zipName));
      await pipeline(body, createWriteStream(zipFile));
      return await this.unpack(runId, zipFile, zipName, taken);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  private async unpack(runId: string, zipFile: string, zipName: string, taken: string[]): Promise<string[]> {
    const field = `workflow_attachment "${zipName}"`;
    const zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
      yauzl.open(zipFile, { lazyEntries: true, autoClose: true, strictFileNames: true, validateEntrySizes: true }, (err, z) =>
        err ? reject(new BadRequestError(`${field}: not a readable zip (${err.message})`)) : resolve(z!),
      ),
    );
    const names: string[] = [];
    const all = new PathSet(taken);
    let total = 0;
    const { maxAttachments, maxAttachmentBytes, maxTotalAttachmentBytes } = this.settings;
    try {
      for (;;) {
        const entry = await new Promise<yauzl.Entry | null>((resolve, reject) => {
          zip.once('entry', resolve);
          zip.once('end', () => resolve(null));
          zip.once('error', (e) => reject(new BadRequestError(`${field}: ${e.message}`)));
          zip.readEntry();
        });
        zip.removeAllListeners('entry').removeAllListeners('end').removeAllListeners('error');
        if (!entry) break;
        const kind = entryKind(entry);
        if (kind === 'other') throw new BadRequestError(`${field}: "${entry.fileName}" is a link or special file`);
        if (kind === 'folder') continue;
        let name: string;
        try {
          name = safeRelativePath(entry.fileName);
        } catch (err) {
          throw new BadRequestError(`${field}: ${(err as UnsafePathError).message}`);
        }
        if (names.length + 1 > maxAttachments) throw new PayloadTooLargeError(`${field}: more than ${maxAttachments} files (WES_MAX_ATTACHMENTS)`);
        if (all.has(name)) throw new BadRequestError(`${field}: "${name}" is there twice`);
        addName(all, name, field);
        const stream = await new Promise<Readable>((resolve, reject) =>
          zip.openReadStream(entry, (err, s) => (err ? reject(new BadRequestError(`${field}: ${err.message}`)) : resolve(s!))),
        );
        let size = 0;
        const guard = new Transform({
          transform(chunk: Buffer, _e, done) {
            size += chunk.length;
            total += chunk.length;
            if (size > maxAttachmentBytes) done(new PayloadTooLargeError(`${field}: "${name}" unpacks to more than ${maxAttachmentBytes} bytes`));
            else if (total > maxTotalAttachmentBytes) done(new PayloadTooLargeError(`${field}: unpacks to more than ${maxTotalAttachmentBytes} bytes`));
            else done(null, chunk);
          },
        });
        try {
          await Promise.all([this.store.put(runObjectKeys.attachment(runId, name), guard), pipeline(stream, guard)]);
        } catch (e) {
          // yauzl's own checks (an entry longer than its header says, a bad checksum) are the
          // client's zip at fault; a failure of the store is ours, and its message (a server
          // path, a bucket) is not the client's to read.
          if (e instanceof PayloadTooLargeError || e instanceof BadRequestError || isStoreFailure(e)) throw e;
          throw new BadRequestError(`${field}: "${name}": ${(e as Error).message}`);
        }
        names.push(name);
      }
    } finally {
      zip.close();
    }
    return names;
  }
}

/** An error of the file system (it names a syscall, and often a server path) or of S3 (it carries $metadata). */
function isStoreFailure(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (typeof (err as { syscall?: unknown }).syscall === 'string' || '$metadata' in err);
}

/** Adds a file name to those of the run's attachments; a clash (`x` and `x/y`) is a 400 of `field`. */
function addName(names: PathSet, name: string, field: string): void {
  try {
    names.add(name);
  } catch (err) {
    throw new BadRequestError(`${field}: ${(err as UnsafePathError).message}`);
  }
}

function safeName(name: string): string {
  try {
    return safeRelativePath(name);
  } catch (err) {
    throw new BadRequestError(`workflow_url: ${(err as Error).message}`);
  }
}
