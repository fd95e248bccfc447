import { constants, FSWatcher, watch } from 'node:fs';
import { FileHandle, open, realpath } from 'node:fs/promises';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { EngineDefinition, EngineTask, TaskEvent, TaskParser } from '../../../libs/engines/src';
import type { Logger } from '../../../libs/logging/src';
import { runObjectKeys, TaskRecord, TaskStore } from '../../../libs/runs/src';
import type { ObjectStore } from '../../../libs/storage/src';

export interface TaskTrackerOptions {
  runId: string;
  attempt: number;
  /** The engine's stderr file (the engine appends to it). */
  stderrFile: string;
  /** The folder the engine captures task stdout/stderr into: only files in it are stored. */
  taskLogDir: string;
  tasks: TaskStore;
  store: ObjectStore;
  /** Largest captured file stored as a task log. */
  maxLogBytes: number;
  log: Logger;
  /** Read the log at least this often (fs.watch is prompt, but not guaranteed everywhere). */
  pollMs?: number;
}

const STREAMS = ['stdout', 'stderr'] as const;
type Stream = (typeof STREAMS)[number];

/**
 * Follows an engine's stderr while it runs, learns its tasks with the engine's TaskParser and
 * writes them to the TaskStore as they start and end, so the task list grows live; when a task
 * ends, the stdout/stderr it captured are stored as its logs. Times are those at which the
 * lines were read (ms, inside the run's start and end). Nothing here fails the run: a failure
 * is logged and tracking goes on (or stops, when the run has moved on and writes are refused).
 */
export class TaskTracker {
  private file?: FileHandle;
  private offset = 0;
  private lastTime = 0;
  private readonly decoder = new StringDecoder('utf8');
  /** Reads of the log and the writes they cause, one after another in order. */
  private work: Promise<void> = Promise.resolve();
  private readQueued = false;
  /** Captured logs being stored, one at a time (apart from `work`: a big file holds up no task start). */
  private uploads: Promise<void> = Promise.resolve();
  /** Store index of each task, by parser key, and the tasks that have not ended. */
  private readonly index = new Map<number, number>();
  private readonly open = new Map<number, EngineTask>();
  private refused = false;
  private watcher?: FSWatcher;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly parser: TaskParser,
    private readonly o: TaskTrackerOptions,
  ) {}

  /** Empties the run's task list for this attempt, then follows the log. */
  start(): void {
    const { runId, attempt } = this.o;
    this.enqueue('reset', async () => {
      if (!(await this.o.tasks.reset(runId, attempt))) return this.refuse();
      // What an earlier attempt stored of its tasks' logs belongs to no task any more.
      if (attempt > 1) await this.o.store.deletePrefix(runObjectKeys.taskLogsPrefix(runId));
    });
    try {
      this.watcher = watch(this.o.stderrFile, () => this.readSoon());
      this.watcher.on('error', () => this.watcher?.close());
    } catch {
      // No watch (the file is not there yet, or the platform has none): the poll reads it.
    }
    this.timer = setInterval(() => this.readSoon(), this.o.pollMs ?? 1000);
    this.readSoon();
  }

  /**
   * The engine exited at `exitTime`: reads the rest of its log, closes the tasks still open
   * (with `note` as a system log line), and resolves once every write is done. Never rejects.
   */
  async finish(exitTime: number, note: string): Promise<void> {
    clearInterval(this.timer);
    this.watcher?.close();
    await this.enqueue('finish', async () => {
      await this.readNew();
      const time = this.observed(exitTime);
      await this.apply([...this.parser.feed(this.decoder.end(), time), ...this.parser.finish(time)]);
      for (const open of this.open.values()) {
        const task = { ...open, end: time, systemLogs: [...open.systemLogs, note] };
        await this.write(task.key, this.record(task));
        this.storeLogsSoon(task);
      }
      this.open.clear();
      await this.file?.close();
    });
    await this.uploads;
  }

  private enqueue(what: string, step: () => Promise<void>): Promise<void> {
    this.work = this.work.then(step).catch((err) => this.o.log.warn({ err }, `task tracking: ${what} failed`));
    return this.work;
  }

  private readSoon(): void {
    if (this.readQueued) return;
    this.readQueued = true;
    void this.enqueue('reading the engine log', () => {
      this.readQueued = false;
      return this.readNew();
    });
  }

  /** Observation times never go back, so tasks stay in start order whatever the clock does. */
  private observed(time = Date.now()): number {
    this.lastTime = Math.max(this.lastTime, time);
    return this.lastTime;
  }

  /** Feeds what the engine added to its log since the last read to the parser. */
  private async readNew(): Promise<void> {
    if (this.refused) return;
    if (!this.file) {
      try {
        this.file = await open(this.o.stderrFile, 'r');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw err;
      }
    }
    const buffer = Buffer.alloc(256 * 1024);
    for (;;) {
      const { bytesRead } = await this.file.read(buffer, 0, buffer.length, this.offset);
      if (bytesRead === 0) return;
      this.offset += bytesRead;
      await this.apply(this.parser.feed(this.decoder.write(buffer.subarray(0, bytesRead)), this.observed()));
    }
  }

  private async apply(events: TaskEvent[]): Promise<void> {
    for (const { type, task } of events) {
      if (this.refused) return;
      if (type === 'started') {
        this.open.set(task.key, task);
        const index = await this.o.tasks.append(this.o.runId, this.record(task));
        if (index === null) return this.refuse();
        this.index.set(task.key, index);
      } else if (type === 'updated') {
        this.open.set(task.key, task);
        await this.write(task.key, this.record(task));
      } else {
        this.open.delete(task.key);
        await this.write(task.key, this.record(task));
        this.storeLogsSoon(task);
      }
    }
  }

  private record(task: EngineTask, stored: Partial<Record<Stream, boolean>> = {}): TaskRecord {
    const { name, cmd, start, end, exitCode, systemLogs } = task;
    return { name, cmd, start, end, exitCode, attempt: this.o.attempt, ...stored, systemLogs };
  }

  private async write(key: number, record: TaskRecord): Promise<void> {
    const index = this.index.get(key);
    if (index !== undefined && !this.refused && !(await this.o.tasks.update(this.o.runId, index, record))) this.refuse();
  }

  private refuse(): void {
    if (!this.refused) this.o.log.warn('task writes refused: the run has moved on from this attempt (or ended)');
    this.refused = true;
  }

  /** Stores the files an ended task captured its stdout/stderr into, then records which were. */
  private storeLogsSoon(task: EngineTask): void {
    const index = this.index.get(task.key);
    if (index === undefined || !(task.stdoutPath || task.stderrPath)) return;
    const id = String(index + 1);
    this.uploads = this.uploads
      .then(async () => {
        if (this.refused) return;
        const stored: Partial<Record<Stream, boolean>> = {};
        const systemLogs = [...task.systemLogs];
        for (const stream of STREAMS) {
          const file = stream === 'stdout' ? task.stdoutPath : task.stderrPath;
          if (!file) continue;
          const size = await this.storeLog(file, runObjectKeys.taskLog(this.o.runId, this.o.attempt, id, stream));
          if (size === true) stored[stream] = true;
          else if (size !== undefined) {
            systemLogs.push(`${stream} not stored: its ${size} bytes exceed WES_TASK_LOG_MAX_BYTES (${this.o.maxLogBytes})`);
          }
        }
        if (Object.keys(stored).length || systemLogs.length > task.systemLogs.length) {
          await this.write(task.key, this.record({ ...task, systemLogs }, stored));
        }
      })
      .catch((err) => this.o.log.warn({ err, task: task.name }, 'task tracking: task logs not stored'));
  }

  /**
   * Copies one captured file to the object store: true when stored, its size when too large,
   * undefined when there is none (cwltool removed it) or it is not a regular file inside the
   * task log folder (a tool can print a line that looks like a record: it cannot make us read
   * another file).
   */
  private async storeLog(file: string, key: string): Promise<true | number | undefined> {
    let real: string;
    let folder: string;
    try {
      [real, folder] = await Promise.all([realpath(file), realpath(this.o.taskLogDir)]);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    if (!real.startsWith(folder + path.sep)) {
      this.o.log.warn({ file }, 'task log outside the task log folder: not stored');
      return undefined;
    }
    let handle: FileHandle;
    try {
      handle = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) return undefined;
      const { size } = stat;
      if (size > this.o.maxLogBytes) return size;
      await this.o.store.put(key, size === 0 ? '' : handle.createReadStream({ start: 0, end: size - 1, autoClose: false }));
      return true;
    } finally {
      await handle.close();
    }
  }
}

/**
 * Follows the tasks of a run's engine, when the engine has a task parser. The tracker ends by
 * itself when the engine exits; `done` settles once every task write is finished (it never
 * rejects), which the run's end transition awaits.
 */
export function trackTasks(
  engine: EngineDefinition,
  options: TaskTrackerOptions,
  engineExited: Promise<unknown>,
  interrupt: AbortSignal,
): { done: Promise<void> } {
  if (!engine.createTaskParser) return { done: Promise.resolve() };
  const tracker = new TaskTracker(engine.createTaskParser(), options);
  tracker.start();
  const done = engineExited.then(() => {
    // The run executor's interrupt reasons: cancel, or shutdown / superseded (the run goes on elsewhere).
    const stopped = interrupt.reason === 'shutdown' || interrupt.reason === 'superseded';
    const note = !interrupt.aborted ? 'the engine ended before this task finished' : stopped ? 'the engine was stopped before this task finished' : 'canceled';
    return tracker.finish(Date.now(), note);
  });
  return { done: done.catch((err) => options.log.warn({ err }, 'task tracking failed')) };
}
