/**
 * Splits an engine's log, fed in pieces that may stop anywhere, into whole lines for a task
 * parser. A line longer than `maxLine` is dropped whole: tool output that shares the engine's
 * stderr may hold no newline, and the worker must not hold all of it.
 */
export class LogLines {
  private partial = '';
  /** The rest of a line longer than maxLine is dropped. */
  private skipping = false;

  constructor(private readonly maxLine: number) {}

  /** The lines `text` completes. */
  feed(text: string): string[] {
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop()!;
    const whole: string[] = [];
    for (const line of lines) {
      if (this.skipping) this.skipping = false;
      else whole.push(line);
    }
    if (this.partial.length > this.maxLine) {
      this.partial = '';
      this.skipping = true;
    }
    return whole;
  }

  /** The log ended: its last line, when it has no newline. */
  finish(): string[] {
    const last = this.partial && !this.skipping ? [this.partial] : [];
    this.partial = '';
    return last;
  }
}
