import { setTimeout as sleep } from 'node:timers/promises';
import { Command, Option } from 'commander';
import { clientOf, printJson, printText } from '../cli-context';
import { runLogText, tasksTable } from '../human-format';
import { LogFollower } from '../log-follower';
import { RunMonitor } from '../run-monitor';
import { isTerminal } from '../wes-types';

/** How often `logs --follow` asks for more. */
const FOLLOW_POLL_MS = 1000;

interface JsonOption {
  json?: boolean;
}

const jsonOption = () => new Option('--json', 'print the server’s JSON (numbers exact)');

/** `status`, `get`, `logs`, `tasks`, `cancel`, `delete`: what one run is and does. */
export function runQueryCommands(setExitCode: (code: number) => void): Command[] {
  const status = new Command('status')
    .description('the state of a run')
    .argument('<run_id>')
    .addOption(jsonOption())
    .action(async (runId: string, options: JsonOption, cmd: Command) => {
      const s = await clientOf(cmd).status(runId);
      if (options.json) printJson(s);
      else printText(`${s.run_id}  ${s.state}`);
    });

  const get = new Command('get')
    .description('everything about a run (its RunLog)')
    .argument('<run_id>')
    .addOption(jsonOption())
    .action(async (runId: string, options: JsonOption, cmd: Command) => {
      const log = await clientOf(cmd).runLog(runId);
      if (options.json) printJson(log);
      else printText(runLogText(log));
    });

  const logs = new Command('logs')
    .description('the engine’s stderr (or stdout) of a run')
    .argument('<run_id>')
    .addOption(new Option('--stream <stream>', 'which log').choices(['stdout', 'stderr']).default('stderr'))
    .option('--follow', 'keep printing what the log gains until the run ends')
    .action(async (runId: string, options: { stream: 'stdout' | 'stderr'; follow?: boolean }, cmd: Command) => {
      const client = clientOf(cmd);
      const log = await client.runLog(runId);
      const url = log.run_log?.[options.stream];
      if (!url) return;
      const follower = new LogFollower(client, url, (chunk) => process.stdout.write(chunk));
      let state = log.state;
      await follower.poll();
      while (options.follow && !isTerminal(state)) {
        await sleep(FOLLOW_POLL_MS);
        state = (await client.status(runId)).state;
        await follower.poll();
      }
      // The run may have ended between the last read and the status that said so.
      if (options.follow) await follower.poll();
    });

  const tasks = new Command('tasks')
    .description('the tasks (steps) of a run, every page')
    .argument('<run_id>')
    .addOption(jsonOption())
    .action(async (runId: string, options: JsonOption, cmd: Command) => {
      const list = await clientOf(cmd).allTasks(runId);
      if (options.json) printJson({ task_logs: list, next_page_token: '' });
      else printText(list.length ? tasksTable(list) : `run ${runId} has no tasks`);
    });

  const cancel = new Command('cancel')
    .description('cancel a run')
    .argument('<run_id>')
    .option('--wait', 'wait until the run has ended (CANCELED, or the state it reached first)')
    .addOption(jsonOption())
    .action(async (runId: string, options: JsonOption & { wait?: boolean }, cmd: Command) => {
      const client = clientOf(cmd);
      const answer = await client.cancel(runId);
      const status = options.wait ? await new RunMonitor(client, runId).waitForEnd() : await client.status(runId);
      if (options.json) printJson(options.wait ? { run_id: status.run_id, state: status.state } : answer);
      else printText(`${runId}  ${status.state}`);
      setExitCode(0);
    });

  const del = new Command('delete')
    .description('delete a finished run and its files (cancel it first if it is not finished)')
    .argument('<run_id>')
    .addOption(jsonOption())
    .action(async (runId: string, options: JsonOption, cmd: Command) => {
      const answer = await clientOf(cmd).deleteRun(runId);
      if (options.json) printJson(answer);
      else printText(`${runId}  deleted`);
    });

  return [status, get, logs, tasks, cancel, del];
}
