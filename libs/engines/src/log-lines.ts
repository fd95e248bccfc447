import type { TaskEvent, TaskParser } from './engine-tasks';

/**
 * Splits an engine's log, fed in pieces that may stop anywhere, into whole lines for a task
 * parser. A line longer than `maxLine` is dropped whole (its start and the rest up to its
 * newline): a job's own output shares the log and must not make the worker hold all of it.
 */
export class LogLines {
  private partial = '';
  /** The rest of a line longer than maxLine is dropped. */
  private skipping = false;

  constructor(private readonly maxLine: number) {}

  /** The lines `text` completes, in order. */
  take(text: string): string[] {
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop()!;
    if (this.skipping && lines.length > 0) {
      lines.shift();
      this.skipping = false;
    }
    if (this.partial.length > this.maxLine) {
      this.partial = '';
      this.skipping = true;
    }
    return lines;
  }

  /** The last line, without its newline (the log ended): undefined when there is none. */
  end(): string | undefined {
    const last = this.partial && !this.skipping ? this.partial : undefined;
    this.partial = '';
    return last;
  }
}

/**
 * A task parser that reads an engine's log line by line: it keeps the clock of the piece being
 * read (`now`), hands each whole line to `line`, calls `ended` once the engine exits (after the
 * last line without its newline), and returns what `drain` gives after each piece.
 */
export abstract class LineTaskParser implements TaskParser {
  private readonly lines: LogLines;
  /** When the piece being read was logged (ms). */
  protected now = 0;

  protected constructor(maxLine: number) {
    this.lines = new LogLines(maxLine);
  }

  feed(text: string, time: number): TaskEvent[] {
    this.now = time;
    for (const line of this.lines.take(text)) this.line(line);
    return this.drain();
  }

  finish(time: number): TaskEvent[] {
    this.now = time;
    const last = this.lines.end();
    if (last !== undefined) this.line(last);
    this.ended();
    return this.drain();
  }

  /** One whole line of the log, without its newline. */
  protected abstract line(line: string): void;
  /** The log ended: close what is still open. */
  protected abstract ended(): void;
  /** The events found since the last call. */
  protected abstract drain(): TaskEvent[];
}
