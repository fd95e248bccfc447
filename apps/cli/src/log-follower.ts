import type { WesApiClient } from './wes-api-client';

/**
 * Follows a growing log (a RunLog's `run_log.stderr` or `stdout` URL): each poll asks for the
 * bytes after those already read (`Range: bytes=<n>-`) and hands them on.
 */
export class LogFollower {
  private offset = 0;

  constructor(
    private readonly client: WesApiClient,
    private readonly url: string,
    private readonly write: (chunk: Buffer) => void,
  ) {}

  /** Reads what the log gained since the last poll; returns how many bytes. */
  async poll(): Promise<number> {
    const chunk = await this.client.readFrom(this.url, this.offset);
    if (chunk.length > 0) {
      this.offset += chunk.length;
      this.write(chunk);
    }
    return chunk.length;
  }
}
