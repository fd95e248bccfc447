/**
 * Counts the Redis commands a few operations cost, with MONITOR on the private Redis (never
 * while a timed measurement runs: MONITOR slows Redis down). Each command is attributed to the
 * connection that sent it (its CLIENT SETNAME, e.g. wes-api, wes-worker-bull) and named with
 * its first key, run ids and numbers replaced, so the list reads like "wes-api EVALSHA
 * b-x:run:<id>".
 */
import { Redis } from 'ioredis';
import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import { ENQUEUE_SCRIPT, TRANSITION_SCRIPT } from '../../libs/runs/src/state-machine-scripts';
import { sleep } from './util';

export interface CommandCount {
  /** Commands per operation, by connection and command. */
  perOp: Record<string, number>;
  /** Total commands per operation (all connections listed in `from`). */
  totalPerOp: number;
  ops: number;
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

function describe(args: string[], sha: Map<string, string>): string {
  const cmd = (args[0] ?? '').toUpperCase();
  let key = '';
  if (cmd === 'EVALSHA' || cmd === 'EVAL') {
    const nkeys = Number(args[2]);
    key = nkeys > 0 ? args[3] : '';
    const name = cmd === 'EVALSHA' ? sha.get(args[1]) : undefined;
    if (name) return `${cmd}(${name}) ${norm(key)}`;
  } else if (args.length > 1) key = args[1];
  return `${cmd} ${norm(key)}`.trim();
}

const norm = (key: string) =>
  key
    .replace(UUID, '<id>')
    .replace(/\b\d{3,}\b/g, '<n>')
    .replace(/:[0-9a-f]{16,}/g, ':<hex>');

/** One argument of a MONITOR line, unquoted (Redis escapes \\, \", \n, \r, \t, \a, \b and \xNN). */
function unquote(text: string): string {
  const simple: Record<string, string> = { n: '\n', r: '\r', t: '\t', a: '\x07', b: '\b' };
  return text.replace(/\\(x[0-9a-f]{2}|.)/g, (_, e: string) => (e.length === 3 ? String.fromCharCode(parseInt(e.slice(1), 16)) : (simple[e] ?? e)));
}

/**
 * MONITOR on a plain socket of its own, each line parsed into its source address and arguments.
 * Not ioredis's monitor(): while Redis is busy, the first lines can come in the same read as the
 * OK of MONITOR, before ioredis takes the connection for a monitor, and it fails with "Command
 * queue state error".
 */
async function openMonitor(redisUrl: string): Promise<{ seen: { source: string; args: string[] }[]; close: () => void }> {
  const url = new URL(redisUrl);
  const socket = connect(Number(url.port || 6379), url.hostname);
  const seen: { source: string; args: string[] }[] = [];
  let buffer = '';
  let ok!: () => void;
  const started = new Promise<void>((resolve, reject) => {
    ok = resolve;
    socket.once('error', reject);
  });
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    let end: number;
    while ((end = buffer.indexOf('\r\n')) >= 0) {
      const line = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (line === '+OK') ok();
      const m = /^\+[\d.]+ \[\d+ ([^\]]+)\] (.*)$/.exec(line);
      if (m) seen.push({ source: m[1]!, args: [...m[2]!.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((a) => unquote(a[1]!)) });
    }
  });
  socket.write('MONITOR\r\n');
  await started;
  return { seen, close: () => socket.destroy() };
}

/**
 * Runs `action` (which performs `ops` operations) under MONITOR and counts the commands sent by
 * connections whose name starts with one of `from`.
 */
export async function countCommands(redisUrl: string, from: string[], ops: number, action: () => Promise<void>): Promise<CommandCount> {
  const admin = new Redis(redisUrl, { maxRetriesPerRequest: null, connectionName: 'bench-monitor-admin' });
  const names = new Map<string, string>();
  const refreshNames = async () => {
    const list = (await admin.client('LIST')) as string;
    for (const line of list.split('\n')) {
      const addr = /\baddr=(\S+)/.exec(line)?.[1];
      const name = /\bname=(\S*)/.exec(line)?.[1];
      if (addr) names.set(addr, name || '(unnamed)');
    }
  };
  await refreshNames();
  // Name the scripts by their SHA where we can: ours are defined by ioredis (wesTransition, wesEnqueue).
  const sha = new Map<string, string>();
  sha.set(createHash('sha1').update(ENQUEUE_SCRIPT).digest('hex'), 'wesEnqueue');
  sha.set(createHash('sha1').update(TRANSITION_SCRIPT).digest('hex'), 'wesTransition');
  const monitor = await openMonitor(redisUrl);
  await sleep(100);
  monitor.seen.length = 0;
  await action();
  await sleep(200);
  await refreshNames();
  monitor.close();
  admin.disconnect();
  const seen = monitor.seen;

  const perOp: Record<string, number> = {};
  let total = 0;
  for (const s of seen) {
    const name = names.get(s.source) ?? '(unknown)';
    if (!from.some((f) => name.startsWith(f))) continue;
    const label = `${name} ${describe(s.args, sha)}`;
    perOp[label] = (perOp[label] ?? 0) + 1;
    total++;
  }
  for (const k of Object.keys(perOp)) perOp[k] = Math.round((perOp[k] / ops) * 100) / 100;
  const sorted = Object.fromEntries(Object.entries(perOp).sort((a, b) => b[1] - a[1]));
  return { perOp: sorted, totalPerOp: Math.round((total / ops) * 100) / 100, ops };
}
