import { closeSync, createReadStream, fstatSync, FSWatcher, openSync, readSync, realpathSync, watch } from 'node:fs';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { EngineDefinition, EngineTask, TaskEvent, TaskParser } from '../../../libs/engines/src';
import type { Logger } from '../../../libs/logging/src';
import { runObjectKeys, TaskRecord, TaskStore } from '../../../libs/runs/src';
import type { ObjectStore } from '../../../libs/storage/src';
import { CapturedFile } from './captured-file';

export interface TaskTrackerOptions {
  runId: string;
  attempt: number;
  /** The engine's stderr file (the engine appends to it). */
  stderrFile: string;
  /** The run's scratch folder: only captured files inside it are stored. */
  scratchDir: string;
  /** The worker's path of a path the engine names (they differ in a sandbox); undefined: outside the run. */
  toHostPath?: (enginePath: string) => string | undefined;
  tasks: TaskStore;
  store: ObjectStore;
  /** Largest captured file stored as a task log. */
  maxLogBytes: number;
  log: Logger;
  /** Read the log at least this often (fs.watch is prompt, but not guaranteed everywhere). */
  pollMs?: number;
  /** Captured files held open at once, at most (each is one descriptor); later ones are not stored. */
  maxOpenCaptures?: number;
  /** Tasks recorded per attempt, at most; later ones are not (MAX_TASKS). */
  maxTasks?: number;
}

/**
 * Tasks recorded per attempt. A tool can print lines that look like the engine's (its stderr is
 * the engine's), so the count and size of records are the workflow's to choose: bounded, they
 * cannot fill Redis for everyone (10,000 records of at most ~70 kB each).
 */
const MAX_TASKS = 10_000;
/** Characters of a task's command line kept in its record; the rest is cut, and the record says so. */
const MAX_CMD_CHARS = 64 * 1024;

/** A command line cut to MAX_CMD_CHARS characters in all (whole arguments first, then a part of one). */
function boundedCommand(cmd: readonly string[]): { cmd: string[]; cut: boolean } {
  let left = MAX_CMD_CHARS;
  const kept: string[] = [];
  for (const arg of cmd) {
    if (arg.length > left) {
      if (left > 0) kept.push(arg.slice(0, left));
      return { cmd: kept, cut: true };
    }
    kept.push(arg);
    left -= arg.length;
  }
  return { cmd: kept, cut: false };
}

/** Enough for any real run's jobs at once, few enough that forged records cannot exhaust descriptors. */
const MAX_OPEN_CAPTURES = 256;
/** The log is read in chunks of this size, at most READS_PER_TURN of them before letting others run. */
const READ_CHUNK = 256 * 1024;
const READS_PER_TURN = 16;

const STREAMS = ['stdout', 'stderr'] as const;
type Stream = (typeof STREAMS)[number];
/** A task's captured files, held from its start; a string: why that one will not be stored. */
type Captures = Partial<Record<Stream, CapturedFile | string>>;

/**
 * Follows an engine's stderr while it runs, learns its tasks with the engine's TaskParser and
 * writes them to the TaskStore as they start and end, so the task list grows live. The files a
 * task captures its stdout/stderr into are opened as soon as they exist and held open until
 * the task ends (see CapturedFile), then stored as its logs. Times are those at which the
 * lines were read (ms, inside the run's start and end). Nothing here fails the run: a failure
 * is logged and tracking goes on (or stops, when the run has moved on and writes are refused).
 */
export class TaskTracker {
  /** The engine's log, once it exists. */
  private fd?: number;
  private readonly buffer = Buffer.alloc(READ_CHUNK);
  /** The rest of a long stretch of log, read on the next turn. */
  private readMore?: NodeJS.Immediate;
  private offset = 0;
  private lastTime = 0;
  private readonly decoder = new StringDecoder('utf8');
  /** The writes that reads of the log cause, one after another in order. */
  private work: Promise<void> = Promise.resolve();
  /** Captured logs being stored, one at a time (apart from `work`: a big file holds up no task start). */
  private uploads: Promise<void> = Promise.resolve();
  /** Store index of each task, by parser key, and the tasks that have not ended. */
  private readonly index = new Map<number, number>();
  private readonly open = new Map<number, EngineTask>();
  /** Captured files of the tasks that have not ended, by parser key, and how many are held. */
  private readonly captures = new Map<number, Captures>();
  private holding = 0;
  private scratch?: string;
  private refused = false;
  private finished = false;
  /** More tasks started than are recorded (maxTasks): said once in the worker's log. */
  private overflowed = false;
  private watcher?: FSWatcher;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly parser: TaskParser,
    private readonly o: TaskTrackerOptions,
  ) {}

  /** Empties the run's task list for a later attempt, then follows the log. */
  start(): void {
    const { runId, attempt } = this.o;
    // A first attempt has no list to empty (only the worker of a RUNNING attempt writes one): one
    // Redis round trip less per run. A refusal is then learnt at the first task write instead.
    if (attempt > 1) {
      this.enqueue('reset', async () => {
        if (!(await this.o.tasks.reset(runId, attempt))) return this.refuse();
        // What an earlier attempt stored of its tasks' logs belongs to no task any more.
        await this.o.store.deletePrefix(runObjectKeys.taskLogsPrefix(runId));
      });
    }
    // The folder, not the file: the engine's launch may not have created the file yet. Being
    // prompt matters: a job's captured files are opened once its record is read.
    const name = path.basename(this.o.stderrFile);
    try {
      this.watcher = watch(path.dirname(this.o.stderrFile), (_, changed) => {
        if (changed === null || changed === name) this.readNow();
      });
      this.watcher.on('error', () => this.watcher?.close());
    } catch {
      // No watch (the platform has none): the poll reads it.
    }
    this.timer = setInterval(() => this.readNow(), this.o.pollMs ?? 1000);
    this.readNow();
  }

  /**
   * The engine exited at `exitTime`: reads the rest of its log, closes the tasks still open
   * (with `note` as a system log line), and resolves once every write is done. Never rejects.
   */
  async finish(exitTime: number, note: string): Promise<void> {
    clearInterval(this.timer);
    clearImmediate(this.readMore);
    this.watcher?.close();
    this.readNow(Infinity);
    this.finished = true;
    const time = this.observed(exitTime);
    try {
      if (this.fd !== undefined) closeSync(this.fd);
      this.take([...this.parser.feed(this.decoder.end(), time), ...this.parser.finish(time)]);
    } catch (err) {
      this.o.log.warn({ err }, 'task tracking: reading the end of the engine log failed');
    }
    await this.enqueue('finish', async () => {
      for (const open of this.open.values()) {
        const task = { ...open, end: time, systemLogs: [...open.systemLogs, note] };
        const captures = this.endCaptures(task.key);
        await this.write(task.key, this.record(task));
        this.storeLogsSoon(task, captures);
      }
      this.open.clear();
    });
    await this.uploads;
    // Captures of tasks whose logs were not stored (writes refused, a failure above).
    await this.releaseAll();
  }

  private enqueue(what: string, step: () => Promise<void>): Promise<void> {
    this.work = this.work.then(step).catch((err) => this.o.log.warn({ err }, `task tracking: ${what} failed`));
    return this.work;
  }

  /** Observation times never go back, so tasks stay in start order whatever the clock does. */
  private observed(time = Date.now()): number {
    this.lastTime = Math.max(this.lastTime, time);
    return this.lastTime;
  }

  /**
   * Feeds what the engine added to its log to the parser, now rather than after the writes
   * queued before (a fast job can be over, its captured files moved, a few ms after its record),
   * and queues the writes that follow. At most `turns` × READS_PER_TURN chunks: a long stretch
   * (a tool's uncaptured output) goes on at the next turn of the event loop.
   */
  private readNow(turns = 1): void {
    if (this.refused || this.finished) return;
    try {
      this.fd ??= openSync(this.o.stderrFile, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.o.log.warn({ err }, 'task tracking: the engine log could not be opened');
      return;
    }
    try {
      for (let reads = 0; reads < turns * READS_PER_TURN; reads++) {
        const bytesRead = readSync(this.fd, this.buffer, 0, this.buffer.length, this.offset);
        if (bytesRead === 0) return;
        this.offset += bytesRead;
        this.take(this.parser.feed(this.decoder.write(this.buffer.subarray(0, bytesRead)), this.observed()));
      }
      this.readMore ??= setImmediate(() => {
        this.readMore = undefined;
        this.readNow();
      });
    } catch (err) {
      this.o.log.warn({ err }, 'task tracking: reading the engine log failed');
    }
  }

  /** Starts holding the captured files of tasks that started, and queues the writes of the events. */
  private take(events: TaskEvent[]): void {
    if (this.refused || !events.length) return;
    for (const { type, task } of events) if (type === 'started') this.holdCaptures(task);
    void this.enqueue('writing tasks', () => this.apply(events));
  }

  private get maxTasks(): number {
    return this.o.maxTasks ?? MAX_TASKS;
  }

  private async apply(events: TaskEvent[]): Promise<void> {
    for (const { type, task } of events) {
      if (this.refused) return;
      if (type === 'started') {
        if (this.index.size >= this.maxTasks) {
          if (!this.overflowed) this.o.log.warn({ maxTasks: this.maxTasks }, `task tracking: more than ${this.maxTasks} tasks, later ones are not recorded`);
          this.overflowed = true;
          this.release(this.endCaptures(task.key)).catch(() => undefined);
          continue;
        }
        this.open.set(task.key, task);
        const index = await this.o.tasks.append(this.o.runId, this.record(task));
        if (index === null) return this.refuse();
        this.index.set(task.key, index);
      } else if (type === 'updated') {
        this.open.set(task.key, task);
        await this.write(task.key, this.record(task));
      } else {
        this.open.delete(task.key);
        const captures = this.endCaptures(task.key);
        await this.write(task.key, this.record(task));
        this.storeLogsSoon(task, captures);
      }
    }
  }

  /** Starts opening the files a task captures into, within the bound on descriptors held. */
  private holdCaptures(task: EngineTask): void {
    const max = this.o.maxOpenCaptures ?? MAX_OPEN_CAPTURES;
    const captures: Captures = {};
    for (const stream of STREAMS) {
      const named = stream === 'stdout' ? task.stdoutPath : task.stderrPath;
      if (!named) continue;
      const file = this.o.toHostPath ? this.o.toHostPath(named) : named;
      if (!file) {
        captures[stream] = `${named} is outside the run's folders`;
        continue;
      }
      if (this.holding >= max) {
        captures[stream] = `more than ${max} captured files were open at once`;
        continue;
      }
      try {
        this.scratch ??= realpathSync.native(this.o.scratchDir);
      } catch (err) {
        captures[stream] = `the run's folder could not be resolved (${(err as NodeJS.ErrnoException).code})`;
        continue;
      }
      captures[stream] = new CapturedFile(file, this.scratch);
      this.holding++;
    }
    if (Object.keys(captures).length) this.captures.set(task.key, captures);
  }

  /** An ended task's captures, taken to be read: those not open yet get one last try. */
  private endCaptures(key: number): Captures {
    const captures = this.captures.get(key) ?? {};
    this.captures.delete(key);
    for (const c of Object.values(captures)) if (typeof c !== 'string') void c.end();
    return captures;
  }

  /** Closes captured files (they count no more against the bound). Never rejects. */
  private async release(captures: Captures): Promise<void> {
    for (const c of Object.values(captures)) {
      if (typeof c === 'string') continue;
      await c.close();
      this.holding--;
    }
  }

  private async releaseAll(): Promise<void> {
    const all = [...this.captures.values()];
    this.captures.clear();
    await Promise.all(all.map((c) => this.release(c)));
  }

  private record(task: EngineTask, stored: Partial<Record<Stream, boolean>> = {}): TaskRecord {
    const { name, start, end, exitCode } = task;
    const { cmd, cut } = boundedCommand(task.cmd);
    const systemLogs = cut ? [...task.systemLogs, `command line cut to its first ${MAX_CMD_CHARS} characters`] : task.systemLogs;
    return { name: name.slice(0, 1024), cmd, start, end, exitCode, attempt: this.o.attempt, ...stored, systemLogs };
  }

  private async write(key: number, record: TaskRecord): Promise<void> {
    const index = this.index.get(key);
    if (index !== undefined && !this.refused && !(await this.o.tasks.update(this.o.runId, index, record))) this.refuse();
  }

  private refuse(): void {
    if (!this.refused) this.o.log.warn('task writes refused: the run has moved on from this attempt (or ended)');
    this.refused = true;
    void this.releaseAll();
  }

  /**
   * Stores the files an ended task captured its stdout/stderr into, through the descriptors
   * held since its start, then records which were stored and why others were not. Closes them.
   */
  private storeLogsSoon(task: EngineTask, captures: Captures): void {
    if (!Object.keys(captures).length) return;
    const index = this.index.get(task.key);
    this.uploads = this.uploads
      .then(async () => {
        try {
          if (index === undefined || this.refused) return;
          const stored: Partial<Record<Stream, boolean>> = {};
          const systemLogs = [...task.systemLogs];
          for (const stream of STREAMS) {
            const capture = captures[stream];
            if (capture === undefined) continue;
            const held = typeof capture === 'string' ? { missed: capture } : await capture.end();
            if ('missed' in held) {
              this.o.log.warn({ task: task.name, stream, file: typeof capture === 'string' ? undefined : capture.file, why: held.missed }, 'captured file not stored');
              systemLogs.push(`${stream} not stored: ${held.missed}`);
              continue;
            }
            const size = await this.storeLog(held.fd, runObjectKeys.taskLog(this.o.runId, this.o.attempt, String(index + 1), stream));
            if (size === true) stored[stream] = true;
            else systemLogs.push(`${stream} not stored: its ${size} bytes exceed WES_TASK_LOG_MAX_BYTES (${this.o.maxLogBytes})`);
          }
          if (Object.keys(stored).length || systemLogs.length > task.systemLogs.length) {
            await this.write(task.key, this.record({ ...task, systemLogs }, stored));
          }
        } finally {
          await this.release(captures);
        }
      })
      .catch((err) => this.o.log.warn({ err, task: task.name }, 'task tracking: task logs not stored'));
  }

  /** Copies a held captured file to the object store: true when stored, its size when too large. */
  private async storeLog(fd: number, key: string): Promise<true | number> {
    // Read no further than this size: a process the tool left behind may still be writing.
    const { size } = fstatSync(fd);
    if (size > this.o.maxLogBytes) return size;
    await this.o.store.put(key, size === 0 ? '' : createReadStream('', { fd, start: 0, end: size - 1, autoClose: false }));
    return true;
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
