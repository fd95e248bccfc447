import { lstatSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { EngineCommand } from './engine-definition';
import { findExecutable, SETPRIV } from './engine-launcher';

/**
 * Where an engine runs. `bwrap`: in a bubblewrap sandbox (own pid, network, ipc and uts
 * namespaces; a read-only view of the system; the run's folders the only ones it can write;
 * an unprivileged uid; a clean environment). `none`: as a plain child of the worker (trusted
 * single-user machines only).
 */
export type SandboxKind = 'bwrap' | 'none';

export interface SandboxSettings {
  kind: SandboxKind;
  /** The uid and gid the engine runs as when the worker runs as root. */
  uid: number;
  gid: number;
  /** Give the engine the host's network (an engine that talks to a cluster); off by default. */
  network: boolean;
  /** Host paths the engine may read besides the system's (e.g. an engine installed under /opt). */
  readOnlyPaths: readonly string[];
  /** Files the engine must not see even where it sees their folder (the worker's config file). */
  hiddenFiles: readonly string[];
}

/** Where a run's folders are inside the sandbox: the same for every run, and no server path shows. */
export const SANDBOX_RUN_ROOT = '/wes';

/** The folders of one run's scratch folder, as the worker has them on its own disk. */
export interface RunFolders {
  root: string;
  attachments: string;
  inputs: string;
  outputs: string;
  tmp: string;
  /** Files the worker writes for the sandbox (passwd, group): never visible as a folder to the engine. */
  sandbox: string;
}

export function runFolders(root: string): RunFolders {
  return {
    root,
    attachments: path.join(root, 'attachments'),
    inputs: path.join(root, 'inputs'),
    outputs: path.join(root, 'outputs'),
    tmp: path.join(root, 'tmp'),
    sandbox: path.join(root, 'sandbox'),
  };
}

/**
 * The run's folders the engine sees, all writable by it: they are its own run's, and engines
 * alone may write to their inputs (cwltool stages inputs as links, and a tool that touches one
 * writes through the link); a sandbox that refused it would give other results than the engine
 * run by hand.
 */
export const ENGINE_FOLDERS = ['attachments', 'inputs', 'outputs', 'tmp'] as const satisfies readonly (keyof RunFolders)[];

/**
 * Translates paths between the worker's view of a run's folders and the engine's: inside a
 * sandbox they are under SANDBOX_RUN_ROOT; without one they are the same.
 */
export class EngineView {
  readonly root: string;

  constructor(
    readonly folders: RunFolders,
    sandboxed: boolean,
  ) {
    this.root = sandboxed ? SANDBOX_RUN_ROOT : folders.root;
  }

  /** The engine's path of a path inside the run's folder. */
  toEngine(hostPath: string): string {
    const rel = path.relative(this.folders.root, hostPath);
    if (rel.startsWith('..') || path.isAbsolute(rel)) throw new Error(`${hostPath} is outside the run's folder`);
    return rel === '' ? this.root : path.join(this.root, rel);
  }

  /** The worker's path of a path the engine names, or undefined when it is not in the run's folders. */
  toHost(enginePath: string): string | undefined {
    const rel = path.relative(this.root, path.resolve('/', enginePath));
    if (rel.startsWith('..') || path.isAbsolute(rel)) return undefined;
    return rel === '' ? this.folders.root : path.join(this.folders.root, rel);
  }
}

/**
 * What of /etc an engine and its tools see: what the dynamic linker, Python, the shell tools
 * (through Debian's alternatives) and TLS need, nothing an operator keeps secrets in. passwd and
 * group are the run's own (written by the worker), not the host's list of users.
 */
const ETC_ENTRIES = [
  'alternatives',
  'ld.so.cache',
  'ld.so.conf',
  'ld.so.conf.d',
  'localtime',
  'mime.types',
  'nsswitch.conf',
  'os-release',
  'debian_version',
  'protocols',
  'services',
  'ssl/certs',
  'ca-certificates.conf',
  'hosts',
  'resolv.conf',
  'host.conf',
  'magic',
  'timezone',
];

/** Top-level system folders: bound read-only, or re-created as the links they are (merged /usr). */
const SYSTEM_ENTRIES = ['usr', 'bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32'];

/** The passwd and group files of a sandbox: root, nobody and the engine's own uid and gid. */
export function sandboxIdentityFiles(uid: number, gid: number): { passwd: string; group: string } {
  const users = new Map([
    [0, 'root:x:0:0:root:/root:/usr/sbin/nologin'],
    [65534, 'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin'],
  ]);
  if (!users.has(uid)) users.set(uid, `wes:x:${uid}:${gid}:WES run:${SANDBOX_RUN_ROOT}/tmp:/usr/sbin/nologin`);
  const groups = new Map([
    [0, 'root:x:0:'],
    [65534, 'nogroup:x:65534:'],
  ]);
  if (!groups.has(gid)) groups.set(gid, `wes:x:${gid}:`);
  return { passwd: [...users.values()].join('\n') + '\n', group: [...groups.values()].join('\n') + '\n' };
}


/** The bwrap executable, or undefined when bubblewrap is not installed (looked up once per process). */
export function findBwrap(): string | undefined {
  if (!bwrapLookedUp) {
    bwrapPath = findExecutable('bwrap', '/usr/bin:/bin:/usr/local/bin');
    bwrapLookedUp = true;
  }
  return bwrapPath;
}
let bwrapPath: string | undefined;
let bwrapLookedUp = false;

/**
 * bwrap's arguments for the system folders: each bound read-only, or re-created as the link it
 * is. Read from the host once per process (the system's layout does not change under a running
 * worker): a run's command then costs no file-system calls.
 */
function systemEntryArgs(): readonly string[] {
  if (systemArgs) return systemArgs;
  const args: string[] = [];
  for (const entry of SYSTEM_ENTRIES) {
    const host = `/${entry}`;
    let stat;
    try {
      stat = lstatSync(host);
    } catch {
      continue;
    }
    if (stat.isSymbolicLink()) args.push('--symlink', readlinkSync(host), host);
    else args.push('--ro-bind', host, host);
  }
  systemArgs = args;
  return args;
}
let systemArgs: string[] | undefined;

/** Whether this process can give the engine another uid (only root can). */
export const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

export interface SandboxedCommand {
  command: EngineCommand;
  /**
   * The whole environment to start it with: bwrap's own (its processes inherit it: it holds
   * nothing of the worker's), or without a sandbox unsandboxedEnv's. Never the worker's own.
   */
  env: Record<string, string>;
}

/**
 * Variables of the worker's environment an engine run without a sandbox gets besides those its
 * definition names: where programs are (the engine is found on the worker's PATH, maybe in a
 * virtualenv), whose home and language it is, where temporary files go. Nothing else: the
 * worker's secrets (REDIS_URL, S3 keys, tokens) would otherwise be the workflow's to read.
 */
export const UNSANDBOXED_ENV = ['PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'LANGUAGE', 'LC_ALL', 'LC_CTYPE', 'TZ', 'TMPDIR', 'LD_LIBRARY_PATH', 'PYTHONPATH', 'VIRTUAL_ENV'] as const;

/** The variables `names` that `from` has, with their values. */
export function namedEnv(from: NodeJS.ProcessEnv, names: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of names) if (from[name] !== undefined) env[name] = from[name]!;
  return env;
}

/** An unsandboxed engine's environment: UNSANDBOXED_ENV and `names`, as `from` has them. */
export function unsandboxedEnv(from: NodeJS.ProcessEnv, names: readonly string[]): Record<string, string> {
  return namedEnv(from, [...UNSANDBOXED_ENV, ...names]);
}

/**
 * Wraps an engine command in bubblewrap. The engine's environment is rebuilt from nothing:
 * PATH, HOME and TMPDIR pointing into the run, LANG, and the variables named in `env`.
 *
 * As root, bwrap itself runs as root (it needs no user namespace to mount) and the engine is
 * started inside through setpriv as the unprivileged uid, without capabilities or a way to
 * regain them; the sandbox's init (pid 1, root) cannot be signalled or read by it. As another
 * user, bwrap makes a user namespace and the engine runs as that same user.
 */
export function bwrapCommand(bwrap: string, inner: EngineCommand, folders: RunFolders, settings: SandboxSettings, env: Record<string, string>): SandboxedCommand {
  const root = isRoot();
  const args = ['--die-with-parent', '--unshare-ipc', '--unshare-pid', '--unshare-uts', '--unshare-cgroup-try', '--hostname', 'wes-run'];
  if (!settings.network) args.push('--unshare-net');
  if (!root) args.push('--unshare-user');
  args.push(...systemEntryArgs());
  // bwrap makes the folders it mounts into 0700 (root's): the engine's uid must be able to enter them.
  for (const dir of ['/etc', '/etc/ssl', SANDBOX_RUN_ROOT]) args.push('--perms', '0755', '--dir', dir);
  for (const entry of ETC_ENTRIES) args.push('--ro-bind-try', `/etc/${entry}`, `/etc/${entry}`);
  args.push('--ro-bind', path.join(folders.sandbox, 'passwd'), '/etc/passwd', '--ro-bind', path.join(folders.sandbox, 'group'), '/etc/group');
  for (const p of settings.readOnlyPaths) args.push('--ro-bind-try', p, p);
  // A path the operator opened up may still hold the worker's config: it stays out of sight.
  for (const f of settings.hiddenFiles) if (settings.readOnlyPaths.some((p) => f.startsWith(`${p}/`))) args.push('--ro-bind-try', '/dev/null', f);
  args.push('--proc', '/proc', '--dev', '/dev');
  args.push('--bind', folders.tmp, '/tmp');
  for (const name of ENGINE_FOLDERS) args.push('--bind', folders[name], path.join(SANDBOX_RUN_ROOT, name));
  const home = path.join(SANDBOX_RUN_ROOT, 'tmp');
  args.push('--chdir', home, '--clearenv');
  const engineEnv: Record<string, string> = { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: home, TMPDIR: home, LANG: 'C.UTF-8', ...env };
  for (const [k, v] of Object.entries(engineEnv)) args.push('--setenv', k, v);
  args.push('--');
  if (root) {
    if (!SETPRIV) throw new Error('setpriv (util-linux) is needed to start the engine as an unprivileged user');
    args.push(SETPRIV, `--reuid=${settings.uid}`, `--regid=${settings.gid}`, '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', '--no-new-privs', '--');
  }
  args.push(inner.file, ...inner.args);
  return { command: { file: bwrap, args }, env: { PATH: '/usr/bin:/bin' } };
}
