import { chmod, chown, mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { WesSettings } from '../../../libs/config/src';
import { bwrapCommand, EngineCommand, ENGINE_FOLDERS, findBwrap, isRoot, RunFolders, SandboxedCommand, sandboxIdentityFiles, SandboxSettings, namedEnv, unsandboxedEnv } from '../../../libs/engines/src';

/** The sandbox settings of the worker's settings (one place reads them). */
export function sandboxSettingsOf(settings: WesSettings): SandboxSettings {
  return {
    kind: settings.sandbox,
    uid: settings.sandboxUid,
    gid: settings.sandboxGid,
    network: settings.sandboxNetwork,
    readOnlyPaths: settings.sandboxReadOnlyPaths
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean)
      .map((p) => path.resolve(p)),
    hiddenFiles: process.env.WES_CONFIG_FILE ? [path.resolve(process.env.WES_CONFIG_FILE)] : [],
  };
}

/** Gives a folder and all it holds to the engine's uid (the worker staged them as root). */
async function giveTo(dir: string, uid: number, gid: number): Promise<void> {
  await chown(dir, uid, gid);
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) await giveTo(full, uid, gid);
    else await chown(full, uid, gid);
  }
}

/**
 * Gets a run's folders ready for its sandbox, once its inputs are staged: the sandbox's own
 * passwd and group and, when the worker runs as root, the run's folders given to the engine's
 * uid, as a user's own files are when they run the engine by hand (nothing else of the
 * worker's is).
 */
export async function prepareSandbox(folders: RunFolders, settings: SandboxSettings): Promise<void> {
  if (settings.kind !== 'bwrap') return;
  await mkdir(folders.sandbox, { recursive: true });
  const ids = isRoot() ? settings : { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
  const { passwd, group } = sandboxIdentityFiles(ids.uid, ids.gid);
  await Promise.all([writeFile(path.join(folders.sandbox, 'passwd'), passwd), writeFile(path.join(folders.sandbox, 'group'), group)]);
  if (!isRoot()) return;
  await chmod(folders.sandbox, 0o755);
  await Promise.all(ENGINE_FOLDERS.map((name) => giveTo(folders[name], settings.uid, settings.gid)));
}

/**
 * The command that starts an engine, and its whole environment: in a sandbox (bwrap), or as it is
 * (`none`, with unsandboxedEnv, never the worker's whole environment). `names` are the worker's
 * variables the engine needs (its definition's `environment`).
 */
export function sandboxed(command: EngineCommand, folders: RunFolders, settings: SandboxSettings, names: readonly string[]): SandboxedCommand {
  if (settings.kind === 'none') return { command, env: unsandboxedEnv(process.env, names) };
  const bwrap = findBwrap();
  if (!bwrap) throw new Error('bubblewrap (bwrap) is not installed: apt-get install bubblewrap, or set WES_SANDBOX=none on a trusted machine');
  return bwrapCommand(bwrap, command, folders, settings, namedEnv(process.env, names));
}
