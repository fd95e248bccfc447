import { fileURLToPath, pathToFileURL } from 'node:url';
import { safeRelativePath } from '../../../../storage/src';

/** What a File or Directory location in workflow params refers to. */
export type InputReference =
  /** One of the run's attachments (a File), or a folder of them (a Directory): its name. */
  | { kind: 'attachment'; name: string }
  /** Something to fetch: http(s), s3, or a file:// URL naming a file on the server's side. */
  | { kind: 'url'; url: string }
  /** A relative location that names no attachment. */
  | { kind: 'missing'; name: string };

const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;

/** A CWL location is a URI reference: `my%20file.txt` names `my file.txt`. */
function decoded(name: string): string | undefined {
  try {
    const d = decodeURIComponent(name);
    return d === name ? undefined : d;
  } catch {
    return undefined;
  }
}

/**
 * The run's attachments, indexed to resolve the File and Directory locations of its params.
 *
 * Clients name inputs in three ways: relative to the attachments (our own docs, toil-wes-cwl-
 * runner, percent-encoded like any URI reference), or as absolute `file://` URLs (and paths) of
 * the client's own machine whose tail is the name of an attachment (wes-client sends the job's
 * locations resolved on its machine, and attaches the same files under names relative to the
 * workflow's folder). Such a location resolves to the attachment whose name is the longest tail
 * of its path; only when none is does it stay a file:// URL of the server's side (read only
 * under WES_FILE_ALLOW_DIRS).
 */
export class AttachmentIndex {
  private readonly files: ReadonlySet<string>;
  private readonly folders: ReadonlySet<string>;

  constructor(attachments: readonly string[]) {
    this.files = new Set(attachments);
    const folders = new Set<string>();
    for (const name of attachments) {
      for (let i = name.indexOf('/'); i > 0; i = name.indexOf('/', i + 1)) folders.add(name.slice(0, i));
    }
    this.folders = folders;
  }

  private has(kind: 'File' | 'Directory', name: string): boolean {
    return kind === 'File' ? this.files.has(name) : this.folders.has(name);
  }

  /** Throws UnsafePathError for a relative location that would leave the attachments' folder. */
  resolve(location: string, kind: 'File' | 'Directory'): InputReference {
    const isFileUrl = /^file:/i.test(location);
    if (!isFileUrl && !location.startsWith('/')) {
      if (SCHEME.test(location)) return { kind: 'url', url: location };
      const name = safeRelativePath(location.replace(/\/+$/, '') || '.');
      for (const candidate of [name, decoded(name)]) {
        if (candidate !== undefined && this.has(kind, candidate)) return { kind: 'attachment', name: candidate };
      }
      return { kind: 'missing', name };
    }
    let file: string;
    try {
      file = isFileUrl ? fileURLToPath(location) : location;
    } catch {
      return { kind: 'url', url: location };
    }
    const url = isFileUrl ? location : pathToFileURL(location).href;
    // The longest tail of the path that is an attachment's name (or a folder of them) wins.
    const segments = file.replace(/\/+$/, '').split('/').filter(Boolean);
    for (let i = 0; i < segments.length; i++) {
      const tail = segments.slice(i).join('/');
      if (this.has(kind, tail)) return { kind: 'attachment', name: tail };
    }
    return { kind: 'url', url };
  }
}
