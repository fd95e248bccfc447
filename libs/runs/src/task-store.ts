import type { Redis } from 'ioredis';
import { RunKeys } from './run-keys';
import { RunState } from './states';

/** A task (a job the engine ran) of a run, as stored. Times are epoch milliseconds. */
export interface TaskRecord {
  name: string;
  cmd: string[];
  start: number;
  end?: number;
  exitCode?: number;
  /** The attempt of the run that ran it: its captured logs are stored under it. */
  attempt: number;
  /** Whether its captured stdout / stderr are in the object store (runObjectKeys.taskLog). */
  stdout?: boolean;
  stderr?: boolean;
  systemLogs: string[];
}

export interface StoredTask extends TaskRecord {
  /** `String(index + 1)`: stable, and in start order. */
  id: string;
}

/** States in which the worker holding a run writes its tasks (its engine runs, or is being stopped). */
const WRITABLE: readonly RunState[] = ['RUNNING', 'CANCELING'];

/**
 * Writes one run's task list, fenced like the state machine's messages: only the worker of the
 * run's current attempt, while the run is RUNNING or CANCELING. A worker that lost the run (its
 * attempt is over), or a write after the run ended, is refused. `reset` empties the list for
 * a new attempt; `append` returns the new task's index; `set` replaces an existing task.
 *
 * KEYS: run hash, task list. ARGV: attempt, op ('reset' | 'append' | 'set'), then the record
 * (append) or the index and the record (set).
 * Returns -1 when refused, -2 for a `set` of an index beyond the list, else 0 / the index.
 */
const TASK_WRITE_SCRIPT = `
local run = redis.call('HMGET', KEYS[1], 'state', 'attempt')
local writable = {${WRITABLE.map((s) => `${s}=true`).join(',')}}
if not run[1] or not writable[run[1]] or run[2] ~= ARGV[1] then return -1 end
if ARGV[2] == 'reset' then
  redis.call('DEL', KEYS[2])
  return 0
end
if ARGV[2] == 'append' then return redis.call('RPUSH', KEYS[2], ARGV[3]) - 1 end
local i = tonumber(ARGV[3])
if i >= redis.call('LLEN', KEYS[2]) then return -2 end
redis.call('LSET', KEYS[2], i, ARGV[4])
return i
`;

/** Task ids as clients see them: 1, 2, 3... */
export const isTaskId = (id: string) => /^[1-9]\d{0,14}$/.test(id);

/**
 * The tasks of each run, one Redis list per run (RunKeys.tasks): the worker appends and
 * updates them as its engine runs; the API reads pages (by index: the cost of a page is the
 * page's) and single tasks.
 */
export class TaskStore {
  private readonly scripted: { wesTaskWrite(run: string, tasks: string, ...args: (string | number)[]): Promise<number> };

  constructor(
    private readonly redis: Redis,
    private readonly keys: RunKeys,
  ) {
    if (!('wesTaskWrite' in redis)) redis.defineCommand('wesTaskWrite', { numberOfKeys: 2, lua: TASK_WRITE_SCRIPT });
    this.scripted = redis as unknown as TaskStore['scripted'];
  }

  private write(runId: string, attempt: number, ...args: (string | number)[]): Promise<number> {
    return this.scripted.wesTaskWrite(this.keys.run(runId), this.keys.tasks(runId), String(attempt), ...args);
  }

  /** Empties the list at the start of an attempt (none of a lost attempt's tasks stay); false: refused. */
  async reset(runId: string, attempt: number): Promise<boolean> {
    return (await this.write(runId, attempt, 'reset')) === 0;
  }

  /** Adds a task; its index (its id is index + 1), or null when refused. */
  async append(runId: string, task: TaskRecord): Promise<number | null> {
    const index = await this.write(runId, task.attempt, 'append', JSON.stringify(task));
    return index < 0 ? null : index;
  }

  /** Replaces the task at `index`; false when refused. */
  async update(runId: string, index: number, task: TaskRecord): Promise<boolean> {
    return (await this.write(runId, task.attempt, 'set', index, JSON.stringify(task))) >= 0;
  }

  /** Up to `size` tasks after the task `afterId` (from the first without it), and whether more follow. */
  async page(runId: string, size: number, afterId?: string): Promise<{ tasks: StoredTask[]; more: boolean }> {
    const from = afterId ? Number(afterId) : 0;
    const rows = await this.redis.lrange(this.keys.tasks(runId), from, from + size);
    return { tasks: rows.slice(0, size).map((row, i) => parse(row, from + i)), more: rows.length > size };
  }

  /** The task with this id, or null. */
  async get(runId: string, id: string): Promise<StoredTask | null> {
    if (!isTaskId(id)) return null;
    const row = await this.redis.lindex(this.keys.tasks(runId), Number(id) - 1);
    return row === null ? null : parse(row, Number(id) - 1);
  }

  /** All the run's tasks when it has at most `max`, else null (RunLog.task_logs; one read either way). */
  async allUpTo(runId: string, max: number): Promise<StoredTask[] | null> {
    const { tasks, more } = await this.page(runId, max);
    return more ? null : tasks;
  }
}

const parse = (row: string, index: number): StoredTask => ({ ...(JSON.parse(row) as TaskRecord), id: String(index + 1) });
