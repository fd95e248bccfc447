import type { WesApiClient } from './wes-api-client';

/**
 * Follows a growing log (a RunLog's `run_log.stderr` or `stdout` URL): each poll asks for the
 * bytes after those already read (`Range: bytes=<n>-`) and hands them on. With `wholeLines`, a
 * line is handed on only once complete (the rest at `flush`), so that other lines written to
 * the same terminal never land in the middle of one.
 */
export class LogFollower {
  private offset = 0;
  private partial = Buffer.alloc(0);

  constructor(
    private readonly client: WesApiClient,
    private readonly url: string,
    private readonly write: (chunk: Buffer) => void,
    private readonly wholeLines = false,
  ) {}

  /** Reads what the log gained since the last poll; returns how many bytes. */
  async poll(): Promise<number> {
    const chunk = await this.client.readFrom(this.url, this.offset);
    if (chunk.length === 0) return 0;
    this.offset += chunk.length;
    if (!this.wholeLines) {
      this.write(chunk);
      return chunk.length;
    }
    const data = Buffer.concat([this.partial, chunk]);
    const end = data.lastIndexOf(0x0a) + 1;
    if (end > 0) this.write(data.subarray(0, end));
    this.partial = data.subarray(end);
    return chunk.length;
  }

  /** Hands on the last, unfinished line, if any. */
  flush(): void {
    if (this.partial.length) this.write(this.partial);
    this.partial = Buffer.alloc(0);
  }
}
