import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { AttachmentIndex, CwlValueTooDeepError, FileObject, FileReferences, locationOf } from '../../../libs/engines/src';
import { FetchFailedError, FetchRefusedError, UrlFetcher } from '../../../libs/fetch/src';
import { resolveInside, UnsafePathError } from '../../../libs/storage/src';

/** An input the client named cannot be had (missing, refused, too large): the client's error. */
export class InputUnavailableError extends Error {
  override name = 'InputUnavailableError';
}

/** Where a run's inputs are on this worker. */
export interface StagingFolders {
  /** The run's attachments, copied from the object store (sub-folders kept). */
  attachmentsDir: string;
  attachments: readonly string[];
  /** Where inputs fetched from URLs go. */
  inputsDir: string;
  /** The engine's path of a file of the run (they differ in a sandbox); the same when absent. */
  toEngine?: (hostPath: string) => string;
}

/** A name only: never a path, never . or .. (a fetched copy stays in its own folder). */
function safeBasename(obj: FileObject, url: string): string {
  const named = typeof obj.basename === 'string' ? obj.basename : decodeURIComponent(new URL(url).pathname.replace(/\/+$/, '').split('/').pop() ?? '');
  return !named || named.includes('/') || named.includes('\\') || named === '.' || named === '..' ? 'input' : named;
}

/**
 * Points every File and Directory of workflow_params (secondaryFiles and listings included,
 * found by the language's walker `files`) at
 * a file on this worker, and returns the params the engine is to read:
 * - one that names an attachment (relatively, or as a client-machine file:// URL or path
 *   ending with its name: AttachmentIndex) gets the absolute file:// URL of the staged copy;
 * - a File at a URL (http, https, s3, allowed file://) is fetched into `inputsDir`, and so is a
 *   Directory at an s3:// prefix or an allowed file:// folder (listed, each file fetched).
 * The engine never fetches an input itself.
 */
export async function stageInputs(
  files: FileReferences,
  params: Record<string, unknown>,
  folders: StagingFolders,
  fetcher: UrlFetcher,
  signal: AbortSignal,
): Promise<{ params: Record<string, unknown>; staged: number }> {
  const index = new AttachmentIndex(folders.attachments);
  let staged = 0;
  const pointAt = (obj: FileObject, file: string, withoutListing = false) => {
    const out: Record<string, unknown> = { ...obj, location: pathToFileURL(folders.toEngine ? folders.toEngine(file) : file).href };
    delete out.path;
    // A fetched Directory's listing names remote locations: the engine lists the local copy itself.
    if (withoutListing) delete out.listing;
    return out;
  };
  const out = await files.map(params, async (obj, where) => {
    const loc = locationOf(obj);
    if (loc === undefined) return obj;
    let ref;
    try {
      ref = index.resolve(loc, obj.class);
    } catch (err) {
      throw new InputUnavailableError(`input ${where} (${loc}): ${(err as Error).message}`);
    }
    if (ref.kind === 'attachment') return pointAt(obj, resolveInside(folders.attachmentsDir, ref.name));
    if (ref.kind === 'missing') throw new InputUnavailableError(`input ${where} (${loc}): names no attachment`);
    const target = path.join(folders.inputsDir, String(++staged), safeBasename(obj, ref.url));
    try {
      if (obj.class === 'File') {
        await fetcher.fetchToFile(ref.url, target, signal);
        return pointAt(obj, target);
      }
      for (const file of await fetcher.listDirectory(ref.url)) {
        if (signal.aborted) throw signal.reason ?? new Error('aborted');
        await fetcher.fetchToFile(file.url, resolveInside(target, file.path), signal);
      }
      await mkdir(target, { recursive: true });
      return pointAt(obj, target, true);
    } catch (err) {
      if (err instanceof FetchFailedError || err instanceof FetchRefusedError || err instanceof UnsafePathError) {
        throw new InputUnavailableError(`input ${where} (${loc}): ${err.message}`);
      }
      throw err;
    }
  }).catch((err) => {
    // Checked at submit; a run recorded before that check could still hold one.
    throw err instanceof CwlValueTooDeepError ? new InputUnavailableError(`workflow_params: ${err.message}`) : err;
  });
  return { params: out as Record<string, unknown>, staged };
}
