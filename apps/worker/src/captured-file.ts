import { close, closeSync, constants, fstatSync, openSync, readlinkSync, realpathSync } from 'node:fs';
import path from 'node:path';

/** A captured file held open (its descriptor), or why it is not (the note the task's system_logs get). */
export type Held = { fd: number } | { missed: string };

const REFUSED = "refused: not a regular file inside the run's folder";

const code = (err: unknown) => (err as NodeJS.ErrnoException).code;
const inside = (file: string, folder: string) => file.startsWith(folder + path.sep);

/**
 * A file an engine captures a task's stdout or stderr into, opened as soon as it exists and held
 * open until the task ends. cwltool logs a job's command just before it creates these files, and
 * once the job ends it may rename them into its output folder or delete their folder: the open
 * descriptor keeps the bytes readable whatever becomes of the name.
 *
 * A trivial last job can be over, and its files moved, a few milliseconds after its record: so
 * each try is synchronous (a few system calls, no trip through the thread pool), the first one
 * made as the record is read, the next after 1 ms, then less and less often up to every `pollMs`,
 * until `end()`.
 *
 * The path comes from the engine's log, which a task's tool can write to as well: only a regular
 * file inside the run's scratch folder is opened, never through a symbolic link, never a FIFO or
 * device (which could block or have effects when opened).
 */
export class CapturedFile {
  readonly held: Promise<Held>;
  private ended = false;
  private timer?: NodeJS.Timeout;
  private settle!: (held: Held) => void;

  /** `scratch`: the real path of the run's scratch folder. */
  constructor(
    readonly file: string,
    private readonly scratch: string,
    private readonly pollMs = 50,
  ) {
    this.held = new Promise((resolve) => (this.settle = resolve));
    this.attempt(1);
  }

  /** The task ended: one more try if the file is not open yet, then what came of it. */
  end(): Promise<Held> {
    if (!this.ended) {
      this.ended = true;
      if (this.timer) {
        clearTimeout(this.timer);
        this.attempt(0);
      }
    }
    return this.held;
  }

  /** Ends the wait and closes the descriptor, if one was opened. Never rejects. */
  async close(): Promise<void> {
    const held = await this.end();
    if ('fd' in held) await new Promise((resolve) => close(held.fd, resolve));
  }

  private attempt(delay: number): void {
    this.timer = undefined;
    let held: Held | undefined;
    try {
      held = this.tryOpen();
    } catch (err) {
      held = { missed: `could not be opened (${code(err) ?? String(err)})` };
    }
    if (held) this.settle(held);
    else if (this.ended) this.settle({ missed: 'the file was gone before it could be opened (or never written)' });
    else this.timer = setTimeout(() => this.attempt(Math.min(delay * 2, this.pollMs)), delay);
  }

  /** The file held, or refused; undefined while it does not exist. */
  private tryOpen(): Held | undefined {
    let real: string;
    try {
      real = realpathSync.native(this.file);
    } catch (err) {
      if (code(err) === 'ENOENT') return undefined;
      throw err;
    }
    if (!inside(real, this.scratch)) return { missed: REFUSED };
    let fd: number;
    try {
      // O_NOFOLLOW: the file itself may not be a link; O_NONBLOCK: opening a FIFO does not wait for a writer.
      fd = openSync(this.file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (err) {
      if (code(err) === 'ENOENT') return undefined;
      if (code(err) === 'ELOOP') return { missed: REFUSED };
      throw err;
    }
    try {
      // What was opened, not what the path named a moment before: a folder on the way may
      // have been swapped for a link since the realpath.
      const opened = openedPath(fd);
      if (fstatSync(fd).isFile() && (opened === undefined || inside(opened, this.scratch))) return { fd };
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    closeSync(fd);
    return { missed: REFUSED };
  }
}

/** The path of an open file, from /proc (Linux); undefined where there is no /proc. */
function openedPath(fd: number): string | undefined {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`).replace(/ \(deleted\)$/, '');
  } catch (err) {
    if (code(err) === 'ENOENT') return undefined;
    throw err;
  }
}
