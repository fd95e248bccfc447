import { constants } from 'node:fs';
import { FileHandle, open, readlink, realpath } from 'node:fs/promises';
import path from 'node:path';

/** A captured file held open, or why it is not (the note the task's system_logs get). */
export type Held = { handle: FileHandle } | { missed: string };

const REFUSED = "refused: not a regular file inside the run's folder";

const code = (err: unknown) => (err as NodeJS.ErrnoException).code;
const inside = (file: string, folder: string) => file.startsWith(folder + path.sep);

/**
 * A file an engine captures a task's stdout or stderr into, opened as soon as it exists and held
 * open until the task ends. cwltool logs a job's command just before it creates these files, and
 * once the job ends it may rename them into its output folder or delete their folder: the open
 * descriptor keeps the bytes readable whatever becomes of the name.
 *
 * The path comes from the engine's log, which a task's tool can write to as well: only a regular
 * file inside the run's scratch folder is opened, never through a symbolic link, never a FIFO or
 * device (which could block or have effects when opened).
 */
export class CapturedFile {
  readonly held: Promise<Held>;
  private ended = false;
  private wake?: () => void;

  /**
   * `scratch`: the real path of the run's scratch folder. Opening is retried, first after 1 ms
   * (the engine creates the file right after logging it) then less and less often, up to every
   * `pollMs`, until `end()`.
   */
  constructor(
    readonly file: string,
    private readonly scratch: Promise<string>,
    private readonly pollMs = 50,
  ) {
    this.held = this.hold().catch((err: unknown) => ({ missed: `could not be opened (${code(err) ?? String(err)})` }));
  }

  /** The task ended: one more try if the file is not open yet, then what came of it. */
  end(): Promise<Held> {
    this.ended = true;
    this.wake?.();
    return this.held;
  }

  /** Ends the wait and closes the descriptor, if one was opened. Never rejects. */
  async close(): Promise<void> {
    const held = await this.end();
    if ('handle' in held) await held.handle.close().catch(() => undefined);
  }

  private async hold(): Promise<Held> {
    const scratch = await this.scratch;
    for (let delay = 1; ; delay = Math.min(delay * 2, this.pollMs)) {
      // Read before trying: an end that comes during a try leaves one more.
      const last = this.ended;
      const held = await this.tryOpen(scratch);
      if (held) return held;
      if (last) return { missed: 'the file was gone before it could be opened (or never written)' };
      if (this.ended) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  /** The file held, or refused; undefined while it does not exist. */
  private async tryOpen(scratch: string): Promise<Held | undefined> {
    let real: string;
    try {
      real = await realpath(this.file);
    } catch (err) {
      if (code(err) === 'ENOENT') return undefined;
      throw err;
    }
    if (!inside(real, scratch)) return { missed: REFUSED };
    let handle: FileHandle;
    try {
      // O_NOFOLLOW: the file itself may not be a link; O_NONBLOCK: opening a FIFO does not wait for a writer.
      handle = await open(this.file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (err) {
      if (code(err) === 'ENOENT') return undefined;
      if (code(err) === 'ELOOP') return { missed: REFUSED };
      throw err;
    }
    try {
      // What was opened, not what the path named a moment before: a folder on the way may
      // have been swapped for a link since the realpath.
      const opened = await openedPath(handle);
      if ((await handle.stat()).isFile() && (opened === undefined || inside(opened, scratch))) return { handle };
    } catch (err) {
      await handle.close();
      throw err;
    }
    await handle.close();
    return { missed: REFUSED };
  }
}

/** The path of an open file, from /proc (Linux); undefined where there is no /proc. */
async function openedPath(handle: FileHandle): Promise<string | undefined> {
  try {
    return (await readlink(`/proc/self/fd/${handle.fd}`)).replace(/ \(deleted\)$/, '');
  } catch (err) {
    if (code(err) === 'ENOENT') return undefined;
    throw err;
  }
}
