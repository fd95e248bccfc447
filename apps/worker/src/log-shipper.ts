import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { runObjectKeys } from '../../../libs/runs/src';
import { ObjectStore } from '../../../libs/storage/src';
import type { Logger } from '../../../libs/logging/src';

type Stream = 'stdout' | 'stderr';

/**
 * Ships an engine's stdout and stderr to the object store while it runs, as numbered chunks
 * of what was added since the last tick (the API serves their concatenation, so clients can
 * follow a live log); at the end the whole files replace the chunks.
 */
export class LogShipper {
  private readonly shipped: Record<Stream, number> = { stdout: 0, stderr: 0 };
  private readonly seq: Record<Stream, number> = { stdout: 0, stderr: 0 };
  private timer?: NodeJS.Timeout;
  private tick: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: ObjectStore,
    private readonly runId: string,
    private readonly files: Record<Stream, string>,
    private readonly intervalMs: number,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.tick = this.tick.then(() => this.shipNew()).catch((err) => this.log.warn({ err }, 'live log chunk not stored'));
    }, this.intervalMs);
  }

  private async shipNew(): Promise<void> {
    for (const stream of ['stdout', 'stderr'] as const) {
      const size = (await stat(this.files[stream]).catch(() => ({ size: 0 }))).size;
      if (size <= this.shipped[stream]) continue;
      const body = createReadStream(this.files[stream], { start: this.shipped[stream], end: size - 1 });
      await this.store.put(runObjectKeys.logPart(this.runId, stream, this.seq[stream]++), body);
      this.shipped[stream] = size;
    }
  }

  /** Stores the whole logs, then drops the chunks. */
  async finish(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.tick;
    // Both at once: the run's end waits for them.
    await Promise.all(
      (['stdout', 'stderr'] as const).map(async (stream) => {
        await this.store.putFile(runObjectKeys.log(this.runId, stream), this.files[stream]);
        if (this.seq[stream] > 0) await this.store.deletePrefix(runObjectKeys.logPartsPrefix(this.runId, stream));
      }),
    );
  }
}
