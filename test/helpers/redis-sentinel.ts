import { ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { freePort, privateRedisArgs, redisPing } from '../../scripts/lib/proc';
import type { PrivateRedis } from './redis-server';

/** One redis-server process of the group, on its own port and folder. */
export interface GroupMember {
  port: number;
  dir: string;
  process: ChildProcess;
}

/**
 * A primary, its replicas and three Sentinels watching it (quorum 2), each a real redis-server
 * (`--sentinel` for the Sentinels) on a free port with its own folder under one temporary root.
 */
export interface SentinelGroup {
  readonly master: string;
  /** `host:port,host:port,host:port`, as WES_REDIS_SENTINELS takes it. */
  readonly sentinels: string;
  readonly primary: GroupMember;
  readonly replicas: GroupMember[];
  /** The primary as a PrivateRedis, for startStack's `redis` (the stack does not stop it). */
  readonly primaryAsPrivate: PrivateRedis;
  /** Port of the server the Sentinels name as primary now. */
  currentPrimaryPort(): Promise<number>;
  /**
   * Starts a killed member again in place (same port and folder), as a replica of the server on
   * `replicaOf` when given (else as it was configured: the Sentinels make an old primary a
   * replica, in some 10 to 20 s).
   */
  restart(member: GroupMember, replicaOf?: number): Promise<void>;
  stop(): Promise<void>;
}

const DOWN_AFTER_MS = 1000;
/** A replica's full sync starts at once (Redis waits 5 s by default for more replicas to join it). */
const FAST_SYNC = ['--repl-diskless-sync-delay', '0'];

function exited(p: ChildProcess): boolean {
  return p.exitCode !== null || p.signalCode !== null;
}

async function waitPing(port: number, child: ChildProcess, what: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!(await redisPing(port))) {
    if (exited(child)) throw new Error(`${what} on port ${port} exited before answering PING`);
    if (Date.now() > deadline) throw new Error(`${what} on port ${port} did not answer PING in time`);
    await sleep(50);
  }
}

/** Polls `probe` until true; throws naming `what` after timeoutMs. */
async function until(what: string, probe: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

export async function startSentinelGroup(options: { replicas?: number; master?: string } = {}): Promise<SentinelGroup> {
  const master = options.master ?? 'wes-primary';
  const root = mkdtempSync(path.join(os.tmpdir(), 'wes-test-sentinel-'));
  const children: ChildProcess[] = [];
  const spawnMember = (args: string[], dir: string, name: string): ChildProcess => {
    const child = spawn('redis-server', [...args, '--logfile', path.join(dir, `${name}.log`)], { stdio: 'ignore' });
    child.on('error', () => undefined);
    children.push(child);
    return child;
  };
  const startServer = async (name: string, extra: string[] = []): Promise<GroupMember & { args: string[] }> => {
    const dir = path.join(root, name);
    mkdirSync(dir);
    const port = await freePort();
    const args = [...privateRedisArgs(port, dir), ...FAST_SYNC, ...extra];
    const member = { port, dir, args, process: spawnMember(args, dir, 'redis') };
    await waitPing(port, member.process, name);
    return member;
  };

  try {
    const primary = await startServer('primary');
    const replicas = [];
    for (let i = 0; i < (options.replicas ?? 1); i++) replicas.push(await startServer(`replica-${i + 1}`, ['--replicaof', '127.0.0.1', String(primary.port)]));
    const sentinelPorts: number[] = [];
    for (let i = 0; i < 3; i++) {
      const dir = path.join(root, `sentinel-${i + 1}`);
      mkdirSync(dir);
      const port = await freePort();
      const conf = path.join(dir, 'sentinel.conf');
      // Sentinel rewrites its configuration file as it learns the group: it must be its own.
      writeFileSync(
        conf,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          'protected-mode no',
          `dir ${dir}`,
          `sentinel monitor ${master} 127.0.0.1 ${primary.port} 2`,
          `sentinel down-after-milliseconds ${master} ${DOWN_AFTER_MS}`,
          `sentinel failover-timeout ${master} 10000`,
          `sentinel parallel-syncs ${master} 1`,
          '',
        ].join('\n'),
      );
      const child = spawnMember([conf, '--sentinel'], dir, 'sentinel');
      await waitPing(port, child, `sentinel ${i + 1}`);
      sentinelPorts.push(port);
    }
    const ask = async <T>(port: number, f: (r: Redis) => Promise<T>): Promise<T> => {
      const r = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      r.on('error', () => undefined);
      try {
        await r.connect();
        return await f(r);
      } finally {
        r.disconnect();
      }
    };
    const masterInfo = async (port: number): Promise<Record<string, string>> => {
      const flat = (await ask(port, (r) => r.call('SENTINEL', 'MASTER', master))) as string[];
      const out: Record<string, string> = {};
      for (let i = 0; i < flat.length; i += 2) out[flat[i]] = flat[i + 1];
      return out;
    };
    // Ready when every Sentinel knows the replicas and the two other Sentinels (a failover needs
    // a majority of them to agree), and every replica is in sync.
    await until('the Sentinels to know the replicas and each other', async () => {
      for (const port of sentinelPorts) {
        const info = await masterInfo(port);
        if (Number(info['num-slaves']) < replicas.length || Number(info['num-other-sentinels']) < 2) return false;
      }
      return true;
    });
    await until('the replicas to be in sync', async () => {
      const info = await ask(primary.port, (r) => r.info('replication'));
      return (info.match(/state=online/g) ?? []).length >= replicas.length;
    });

    const restart = async (member: GroupMember, replicaOf?: number): Promise<void> => {
      if (!exited(member.process)) throw new Error(`the server on port ${member.port} still runs`);
      const args = [...privateRedisArgs(member.port, member.dir), ...FAST_SYNC, ...(replicaOf ? ['--replicaof', '127.0.0.1', String(replicaOf)] : [])];
      member.process = spawnMember(args, member.dir, 'redis');
      await waitPing(member.port, member.process, `server on ${member.port}`);
    };
    const group: SentinelGroup = {
      master,
      sentinels: sentinelPorts.map((p) => `127.0.0.1:${p}`).join(','),
      primary,
      replicas,
      primaryAsPrivate: {
        port: primary.port,
        url: `redis://127.0.0.1:${primary.port}`,
        dir: primary.dir,
        get process() {
          return primary.process;
        },
        restart: () => Promise.reject(new Error('restart a member of a Sentinel group with group.restart')),
        kill: () => Promise.reject(new Error('kill a member of a Sentinel group through group.primary')),
        start: () => Promise.reject(new Error('restart a member of a Sentinel group with group.restart')),
        stop: async () => undefined,
      },
      async currentPrimaryPort() {
        const [, port] = (await ask(sentinelPorts[0], (r) => r.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', master))) as string[];
        return Number(port);
      },
      restart,
      async stop() {
        for (const c of children) if (!exited(c)) c.kill('SIGKILL');
        await sleep(100);
        rmSync(root, { recursive: true, force: true });
      },
    };
    return group;
  } catch (err) {
    for (const c of children) if (!exited(c)) c.kill('SIGKILL');
    rmSync(root, { recursive: true, force: true });
    throw err;
  }
}
