import { chmodSync, chownSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
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
function giveTo(dir: string, uid: number, gid: number): void {
  chownSync(dir, uid, gid);
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) giveTo(full, uid, gid);
    else chownSync(full, uid, gid);
  }
}

/** The sandbox's passwd and group, made once per uid and gid (the same for every run of a worker). */
const identityFiles = new Map<string, { passwd: string; group: string }>();
function identityOf(uid: number, gid: number): { passwd: string; group: string } {
  const key = `${uid}:${gid}`;
  let files = identityFiles.get(key);
  if (!files) identityFiles.set(key, (files = sandboxIdentityFiles(uid, gid)));
  return files;
}

/**
 * Gets a run's folders ready for its sandbox, once its inputs are staged: the sandbox's own
 * passwd and group and, when the worker runs as root, the run's folders given to the engine's
 * uid, as a user's own files are when they run the engine by hand (nothing else of the
 * worker's is).
 *
 * Synchronous calls: a folder, two small files and a chown per staged entry cost the kernel a
 * few microseconds each, while each thread-pool round trip of the asynchronous calls costs the
 * worker more CPU than the call itself (issue 15: the no-op run's CPU). A run with very many
 * attachments holds the event loop a few ms per thousand files, far less than staging them took.
 */
export async function prepareSandbox(folders: RunFolders, settings: SandboxSettings): Promise<void> {
  if (settings.kind !== 'bwrap') return;
  mkdirSync(folders.sandbox, { recursive: true });
  const ids = isRoot() ? settings : { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
  const { passwd, group } = identityOf(ids.uid, ids.gid);
  writeFileSync(path.join(folders.sandbox, 'passwd'), passwd);
  writeFileSync(path.join(folders.sandbox, 'group'), group);
  if (!isRoot()) return;
  chmodSync(folders.sandbox, 0o755);
  for (const name of ENGINE_FOLDERS) giveTo(folders[name], settings.uid, settings.gid);
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
