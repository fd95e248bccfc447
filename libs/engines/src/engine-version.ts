import { execa } from 'execa';
import { EngineCommand } from './engine-definition';

/**
 * Runs an engine's version command (`<executable> --version`, possibly wrapped in its sandbox)
 * with the environment a run of it gets (`env`, the whole of it: see LaunchOptions.env) and
 * returns its output (stdout, or stderr when stdout is empty).
 */
export async function readEngineVersion(command: EngineCommand, env: Record<string, string>, timeoutMs = 30_000): Promise<string> {
  const r = await execa(command.file, command.args, { reject: false, timeout: timeoutMs, stdin: 'ignore', env, extendEnv: false });
  if (r.exitCode !== 0) throw new Error(`${[command.file, ...command.args].join(' ')} failed: ${r.stderr.trim().split('\n').slice(-3).join(' ') || r.shortMessage}`);
  return (r.stdout || r.stderr).trim();
}
