import { StoredTask } from '../../../../libs/runs/src';
import { wesTime } from '../common/base-url';

/**
 * The WES TaskLog of a stored task; `runUrl` is the run's absolute URL. stdout/stderr are URLs
 * of this API, given once the task ended and what it captured was stored.
 */
export function toTaskLog(task: StoredTask, runUrl: string) {
  const taskUrl = `${runUrl}/tasks/${task.id}`;
  return {
    id: task.id,
    name: task.name,
    cmd: task.cmd,
    start_time: wesTime(task.start),
    end_time: wesTime(task.end),
    stdout: task.stdout ? `${taskUrl}/logs/stdout` : undefined,
    stderr: task.stderr ? `${taskUrl}/logs/stderr` : undefined,
    exit_code: task.exitCode,
    system_logs: task.systemLogs,
  };
}
