import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { FetchFailedError, FetchRefusedError, UrlFetcher } from '../../../libs/fetch/src';
import { resolveInside, UnsafePathError } from '../../../libs/storage/src';

/** An input the client named cannot be had (missing, refused, too large): the client's error. */
export class InputUnavailableError extends Error {
  override name = 'InputUnavailableError';
}

const isUrlOrAbsolute = (loc: string) => /^[A-Za-z][A-Za-z0-9+.-]*:/.test(loc) || loc.startsWith('/');

/**
 * Downloads every File of workflow_params that lives at a URL (http, https, s3, allowed
 * file://; an absolute path counts as file://), secondaryFiles included, and every Directory
 * at an s3:// prefix or an allowed file:// folder, into the run's scratch folder, and returns the params with those locations pointing at the local copies.
 * Relative locations stay as they are: the engine resolves them against the attachments.
 */
export async function stageInputs(
  params: Record<string, unknown>,
  inputsDir: string,
  fetcher: UrlFetcher,
  signal: AbortSignal,
): Promise<{ params: Record<string, unknown>; staged: number }> {
  let staged = 0;
  const walk = async (value: unknown, where: string): Promise<unknown> => {
    if (Array.isArray(value)) {
      const out = [];
      for (let i = 0; i < value.length; i++) out.push(await walk(value[i], `${where}[${i}]`));
      return out;
    }
    if (!value || typeof value !== 'object') return value;
    const obj = value as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(obj)) out[k] = k === 'location' || k === 'path' ? v : await walk(v, `${where}.${k}`);
    const loc = typeof obj.location === 'string' ? obj.location : typeof obj.path === 'string' ? obj.path : undefined;
    if (obj.class === 'File' && loc && isUrlOrAbsolute(loc)) {
      const url = loc.startsWith('/') ? pathToFileURL(loc).href : loc;
      const named = typeof obj.basename === 'string' ? obj.basename : decodeURIComponent(new URL(url).pathname.split('/').pop() ?? '');
      // A name only: never a path, never . or .. (the copy stays in its own folder).
      const basename = !named || named.includes('/') || named.includes('\\') || named === '.' || named === '..' ? 'input' : named;
      const file = path.join(inputsDir, String(++staged), basename);
      try {
        await fetcher.fetchToFile(url, file, signal);
      } catch (err) {
        if (err instanceof FetchFailedError || err instanceof FetchRefusedError) {
          throw new InputUnavailableError(`input ${where} (${loc}): ${err.message}`);
        }
        throw err;
      }
      delete out.path;
      out.location = pathToFileURL(file).href;
    }
    if (obj.class === 'Directory' && loc && isUrlOrAbsolute(loc)) {
      const url = loc.startsWith('/') ? pathToFileURL(loc).href : loc;
      const named = typeof obj.basename === 'string' ? obj.basename : decodeURIComponent(new URL(url).pathname.replace(/\/+$/, '').split('/').pop() ?? '');
      const basename = !named || named.includes('/') || named.includes('\\') || named === '.' || named === '..' ? 'input' : named;
      const dir = path.join(inputsDir, String(++staged), basename);
      try {
        for (const file of await fetcher.listDirectory(url)) {
          if (signal.aborted) throw signal.reason ?? new Error('aborted');
          await fetcher.fetchToFile(file.url, resolveInside(dir, file.path), signal);
        }
      } catch (err) {
        if (err instanceof FetchFailedError || err instanceof FetchRefusedError || err instanceof UnsafePathError) {
          throw new InputUnavailableError(`input ${where} (${loc}): ${err.message}`);
        }
        throw err;
      }
      await mkdir(dir, { recursive: true });
      // The client's listing names remote locations: the engine lists the local copy itself.
      delete out.path;
      delete out.listing;
      out.location = pathToFileURL(dir).href;
    }
    return out;
  };
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(params)) out[k] = await walk(v, k);
  return { params: out, staged };
}
