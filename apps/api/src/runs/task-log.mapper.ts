import { isTerminal, RunState, StoredTask } from '../../../../libs/runs/src';
import { RunFileUrl, wesTime } from '../common/base-url';

/**
 * The WES TaskLog of a stored task; `fileUrl` gives the URLs of the run's files (signed when
 * links are). stdout/stderr are URLs of this API, given once the task ended and what it
 * captured was stored. A task still open in a run that ended (its worker was lost, so nobody
 * saw the task end) says so in system_logs rather than look as if it were running.
 */
export function toTaskLog(task: StoredTask, fileUrl: RunFileUrl, runState: RunState) {
  const orphaned = task.end === undefined && isTerminal(runState);
  return {
    id: task.id,
    name: task.name,
    cmd: task.cmd,
    start_time: wesTime(task.start),
    end_time: wesTime(task.end),
    stdout: task.stdout ? fileUrl(`tasks/${task.id}/logs/stdout`) : undefined,
    stderr: task.stderr ? fileUrl(`tasks/${task.id}/logs/stderr`) : undefined,
    exit_code: task.exitCode,
    system_logs: orphaned ? [...task.systemLogs, `the run ended ${runState} before this task was seen to end`] : task.systemLogs,
  };
}
