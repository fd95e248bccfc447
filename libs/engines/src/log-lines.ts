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
