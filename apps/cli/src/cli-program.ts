import { Command, CommanderError, Option } from 'commander';
import { CliError } from './cli-errors';
import { note } from './cli-context';
import { authHashCommand } from './commands/auth-hash';
import { runCommands } from './commands/run-command';
import { runQueryCommands } from './commands/run-queries';
import { serverQueryCommands } from './commands/server-queries';
import { DEFAULT_WES_URL } from './wes-api-client';

/** The `wes` program: global options, then one sub-command per WES operation (and `run`). */
export function buildProgram(setExitCode: (code: number) => void): Command {
  // Errors are one line: "wes: <what>", no suggestion after it.
  const oneLine = (cmd: Command) =>
    cmd
      .configureOutput({ outputError: (text, write) => write(`wes: ${text.replace(/^error: /, '')}`) })
      .showSuggestionAfterError(false)
      .exitOverride();
  const program = oneLine(new Command('wes'))
    .description('Client of a GA4GH WES 1.1 server; `wes run` is a drop-in cwl-runner')
    .addOption(new Option('--url <url>', 'the WES server: an origin or the full .../ga4gh/wes/v1 URL').env('WES_URL').default(DEFAULT_WES_URL))
    .addOption(new Option('--token <token>', 'bearer token sent with every request to the server').env('WES_TOKEN'))
    .addOption(new Option('--user <name>', 'user name sent with --password as HTTP Basic with every request').env('WES_USER'))
    .addOption(new Option('--password <password>', 'password of --user (prefer WES_PASSWORD: a command line is visible to others)').env('WES_PASSWORD'));
  for (const cmd of [...runCommands(setExitCode), ...runQueryCommands(setExitCode), ...serverQueryCommands(), authHashCommand()]) program.addCommand(oneLine(cmd));
  return program;
}

/** Runs the CLI on `argv` (process.argv form); returns the exit code. Errors become one line on stderr. */
export async function runCli(argv: string[]): Promise<number> {
  let exitCode = 0;
  const program = buildProgram((code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version end here too, with code 0; usage errors were printed by commander.
      return err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof CliError) {
      note(err.message);
      return err.exitCode;
    }
    note(`internal error: ${(err as Error)?.stack ?? String(err)}`);
    return 1;
  }
}
