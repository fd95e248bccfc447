/**
 * The engine-neutral shape of the tasks (jobs) an engine runs, as a worker learns them while the
 * engine runs. Each engine that can report its tasks brings a TaskParser that reads them from
 * what the engine writes (cwltool: its stderr log); the worker stores what the parser reports.
 */

/** One job the engine ran. Times are epoch milliseconds. */
export interface EngineTask {
  /** 0, 1, 2...: the order in which the parser reported the task started (ordered by start). */
  key: number;
  /** The engine's name for the job (unique within a run for cwltool; see its parser). */
  name: string;
  /** The command line the job ran ([] when it ran none, e.g. a CWL ExpressionTool). */
  cmd: string[];
  start: number;
  end?: number;
  exitCode?: number;
  /** Files the engine captured the job's stdout / stderr into, as the engine named them. */
  stdoutPath?: string;
  stderrPath?: string;
  /** What the engine said about the job besides its command (failures, resource use...). */
  systemLogs: string[];
}

/**
 * `started`: a new task (reported once, in start order); `updated`: more is known of a task
 * that has not ended (e.g. a system log line); `ended`: the task ended (reported once).
 * Each event carries a snapshot of the whole task.
 */
export interface TaskEvent {
  type: 'started' | 'updated' | 'ended';
  task: EngineTask;
}

/**
 * Reads an engine's log incrementally. Text may stop anywhere (mid-line, mid-record): the parser
 * keeps what it cannot read yet. `time` is when the text was observed: it dates what the text
 * reports, so times have the precision of the observer and lie inside the run's.
 */
export interface TaskParser {
  feed(text: string, time: number): TaskEvent[];
  /** The engine exited: what is left is read (a last line without its newline included). */
  finish(time: number): TaskEvent[];
}
