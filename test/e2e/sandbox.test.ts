import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runForm } from '../helpers/client';
import { uniqueMarker, uniqueNumber, useStack } from '../helpers/e2e';
import { startHttpServer, TestHttpServer } from '../helpers/http-server';
import { findProcesses } from '../helpers/processes';

/**
 * Hostile workflows, run as workflows through the API against a real worker whose engines are
 * sandboxed (bubblewrap, the default): each attack must fail, and the server and other runs
 * must be unharmed. The tests run as root here, so the engine runs as nobody (65534).
 */
const h = useStack({ workerConcurrency: 2 });
let http: TestHttpServer;
beforeAll(async () => {
  http = await startHttpServer();
  http.set('/secret.txt', 'a secret of the server side\n');
  http.set('/tool.cwl', 'cwlVersion: v1.2\nclass: CommandLineTool\nbaseCommand: "true"\ninputs: []\noutputs: []\n');
});
afterAll(() => http?.stop());

/**
 * A tool running a bash script; what it prints is its `out` output (and its task's stdout).
 * The script must not hold `$(`: CWL reads that as a parameter reference.
 */
function attack(script: string, extra = '') {
  return `cwlVersion: v1.2
class: CommandLineTool
baseCommand: [bash, -c]
arguments: [${JSON.stringify(script)}]
inputs: []
stdout: out.txt
outputs:
  out: stdout
${extra}`;
}

function submit(tool: string, params: Record<string, unknown> = {}) {
  return h.client.submitOk(runForm({ workflow_url: 'attack.cwl', workflow_type: 'CWL', workflow_type_version: 'v1.2', workflow_params: params, attachments: { 'attack.cwl': tool } }));
}

/** Runs an attack to COMPLETE and returns what it printed. */
async function printed(script: string): Promise<string> {
  const runId = await submit(attack(script));
  await h.client.waitForState(runId, ['COMPLETE'], 90_000, 100);
  const log = await h.client.runLog(runId);
  return (await h.client.fetchText(log.outputs.out.location)).text;
}

describe('a workflow in its sandbox', () => {
  it("reads no secret of the server: no variable of the worker's, no other process, an unprivileged uid", async () => {
    const out = await printed('id -u; echo PIDS `ls /proc | grep -cE "^[0-9]+$"`; env; for e in /proc/[0-9]*/environ; do tr "\\0" "\\n" < $e 2>/dev/null; done; cat /proc/1/cmdline 2>&1; true');
    const [uid, pids] = out.split('\n');
    expect(uid).toBe('65534');
    // bwrap's init, setpriv's exec of cwltool, the tool's bash and its children: a handful at most.
    expect(Number(pids.split(' ')[1])).toBeLessThan(10);
    expect(out).not.toContain('REDIS_URL');
    expect(out).not.toContain('WES_');
    expect(out).not.toContain(h.stack.redis.url);
    expect(out).not.toContain(String(h.stack.redis.port));
  });

  it('reaches neither Redis, nor the API, nor anything on loopback, nor the network', async () => {
    const apiPort = new URL(h.stack.origin).port;
    const httpPort = new URL(http.origin).port;
    const out = await printed(
      [h.stack.redis.port, apiPort, httpPort]
        .map((p) => `(exec 3<>/dev/tcp/127.0.0.1/${p}) 2>/dev/null && echo "REACHED ${p}" || echo "blocked ${p}"`)
        .join('; ') + '; (exec 3<>/dev/tcp/1.1.1.1/53) 2>/dev/null && echo REACHED-NET || echo blocked-net',
    );
    expect(out).not.toContain('REACHED');
    expect(out.trim().split('\n')).toHaveLength(4);
    expect(http.requests).toEqual([]);
    // Redis is as it was: its runs and counters are still the server's own.
    expect((await h.client.getJson('/service-info')).system_state_counts.COMPLETE).toBeGreaterThan(0);
  });

  it("sees neither the server's folders nor another run's files, and writes nothing outside its own", async () => {
    const secret = uniqueMarker('victim-secret');
    const victim = await h.client.submitOk(
      runForm({
        workflow_url: 'victim.cwl',
        workflow_type: 'CWL',
        workflow_type_version: 'v1.2',
        attachments: { 'victim.cwl': attack('sleep 60'), 'secret.txt': secret },
      }),
    );
    await h.client.waitForState(victim, ['RUNNING']);
    const out = await printed(
      [
        `ls ${h.stack.workDir} ${h.stack.dataDir} /root /home 2>&1 | head -5`,
        `grep -rl ${secret} / --exclude-dir=proc --exclude-dir=sys --exclude-dir=usr --exclude-dir=dev 2>/dev/null | head -3; echo GREP-DONE`,
        'for f in /usr/x /etc/x /var/x /x; do touch $f 2>/dev/null && echo "WROTE $f" || echo "refused $f"; done',
        'touch /wes/attachments/ok /wes/inputs/ok /wes/outputs/ok /wes/tmp/ok && echo "own folders writable"',
      ].join('; '),
    );
    expect(out).toContain('No such file or directory');
    expect(out).not.toContain(secret);
    expect(out).toContain('GREP-DONE');
    expect(out).not.toContain('WROTE');
    expect(out).toContain('own folders writable');
    await h.client.cancel(victim);
    await h.client.waitForState(victim, ['CANCELED']);
  });

  it('reads the sandbox\'s own passwd through a default File at /etc/passwd, not the host\'s list of users', async () => {
    const runId = await submit(
      attack('cat $(inputs.f.path)', 'requirements: {InlineJavascriptRequirement: {}}\n').replace('inputs: []', 'inputs:\n  f:\n    type: File\n    default: {class: File, location: "file:///etc/passwd"}'),
    );
    await h.client.waitForState(runId, ['COMPLETE'], 90_000, 100);
    const log = await h.client.runLog(runId);
    const out = (await h.client.fetchText(log.outputs.out.location)).text;
    expect(out).toContain('nobody:x:65534');
    const host = execFileSync('cut', ['-d:', '-f1', '/etc/passwd'], { encoding: 'utf8' }).split('\n').filter((u) => u && u !== 'root' && u !== 'nobody');
    for (const user of host) expect(out).not.toContain(`${user}:x:`);
  });

  it('leaves no process behind: a setsid escape dies with the sandbox', async () => {
    const seconds = uniqueNumber(3000, 50_000);
    const out = await printed(`setsid sleep ${seconds} < /dev/null > /dev/null 2>&1 & disown; sleep 0.2; echo started`);
    expect(out).toBe('started\n');
    expect(findProcesses(`sleep ${seconds}`)).toEqual([]);
  });

  it('cannot kill the worker: killing everything it can see only ends its own run; a run beside it is unharmed', async () => {
    const innocent = await submit(attack('sleep 3; echo innocent'));
    await h.client.waitForState(innocent, ['RUNNING']);
    const killer = await submit(attack('kill -9 -1; kill -9 1; echo survived'));
    await h.client.waitForState(killer, ['EXECUTOR_ERROR']);
    await h.client.waitForState(innocent, ['COMPLETE']);
    const log = await h.client.runLog(innocent);
    expect((await h.client.fetchText(log.outputs.out.location)).text).toBe('innocent\n');
    expect(h.stack.liveWorkers()).toHaveLength(1);
    expect(log.run_log.system_logs.filter((l: string) => /attempt/.test(l))).toEqual([]);
  });

  it("cannot have a file of the server uploaded through a link: a linked File is the sandbox's own copy, a link in a Directory fails the run", async () => {
    const hostUsers = execFileSync('cut', ['-d:', '-f1', '/etc/passwd'], { encoding: 'utf8' }).split('\n').filter((u) => u && u !== 'root' && u !== 'nobody');
    const file = await submit(`cwlVersion: v1.2
class: CommandLineTool
baseCommand: [ln, -s, /etc/passwd, leak.txt]
inputs: []
outputs:
  leak:
    type: File
    outputBinding: {glob: leak.txt}
`);
    await h.client.waitForState(file, ['COMPLETE', 'EXECUTOR_ERROR']);
    const log = await h.client.runLog(file);
    // cwltool copies a linked output into its output folder: what it copied is the sandbox's passwd.
    if (log.state === 'COMPLETE') {
      const served = (await h.client.fetchText(log.outputs.leak.location)).text;
      for (const user of hostUsers) expect(served).not.toContain(`${user}:x:`);
    }
    const dir = await submit(`cwlVersion: v1.2
class: CommandLineTool
baseCommand: [sh, -c, 'mkdir d && ln -s /etc/passwd d/leak']
inputs: []
outputs:
  d:
    type: Directory
    outputBinding: {glob: d}
`);
    await h.client.waitForState(dir, ['EXECUTOR_ERROR']);
    const dirLog = await h.client.runLog(dir);
    expect(dirLog.run_log.system_logs.join('\n')).toMatch(/d\/leak is a link leading outside the run's output folder/);
    expect((await h.client.getJson(`/runs/${dir}/outputs`)).files).toEqual([]);
  });

  it('cannot make the engine fetch a loopback URL (a default File, a step run:), which the API does not check', async () => {
    const before = http.requests.length;
    const byDefault = await submit(
      attack('cat $(inputs.f.path)', `requirements: {InlineJavascriptRequirement: {}}\n`).replace(
        'inputs: []',
        `inputs:\n  f:\n    type: File\n    default: {class: File, location: "${http.origin}/secret.txt"}`,
      ),
    );
    const byRun = await h.client.submitOk(
      runForm({
        workflow_url: 'wf.cwl',
        workflow_type: 'CWL',
        workflow_type_version: 'v1.2',
        attachments: {
          'wf.cwl': `cwlVersion: v1.2\nclass: Workflow\ninputs: []\noutputs: []\nsteps:\n  s:\n    run: ${http.origin}/tool.cwl\n    in: {}\n    out: []\n`,
        },
      }),
    );
    await h.client.waitForState(byDefault, ['EXECUTOR_ERROR']);
    await h.client.waitForState(byRun, ['EXECUTOR_ERROR']);
    expect(http.requests.slice(before)).toEqual([]);
  });

  it('leaves nothing owned by its uid in the work and data folders', () => {
    const left = execFileSync('find', [h.stack.workDir, h.stack.dataDir, '-uid', '65534'], { encoding: 'utf8' }).trim();
    expect(left).toBe('');
  });
});
