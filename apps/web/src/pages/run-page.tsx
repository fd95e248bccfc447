import { useEffect, useRef, useState } from 'preact/hooks';
import { isTerminal } from '../../../../libs/runs/src/states';
import { RunLog, runPath, savedToken, TaskLog, wesFetch, wesJson } from '../api';
import { ErrorNote, Facts, Section, StateBadge } from '../components';
import { formatBytes, formatDuration, formatTime, uuidv7Time } from '../lib/format';
import { OutputFile, OutputNode, outputTree } from '../lib/output-tree';
import { refreshTaskPages, TaskPage } from '../lib/task-pages';
import { usePolling } from '../polling';
import { LogView } from './log-view';

export const RUN_POLL_MS = 2000;
/** Polled faster for a while after a cancel, so CANCELING is seen before CANCELED. */
const CANCEL_POLL_MS = 300;

interface Seen {
  state: string;
  at: number;
}

async function readTaskPage(runId: string, token: string): Promise<{ tasks: TaskLog[]; next: string }> {
  const q = new URLSearchParams({ page_size: '100' });
  if (token) q.set('page_token', token);
  const page = await wesJson<{ task_logs: TaskLog[]; next_page_token: string }>(runPath(runId, `/tasks?${q}`));
  return { tasks: page.task_logs, next: page.next_page_token };
}

function taskState(t: TaskLog, runEnded: boolean): string {
  if (t.end_time === undefined) return runEnded ? 'unfinished' : 'running';
  return t.exit_code === undefined || t.exit_code === 0 ? 'done' : 'failed';
}

function taskDuration(t: TaskLog): string {
  if (!t.start_time) return '';
  const end = t.end_time ? Date.parse(t.end_time) : Date.now();
  const ms = end - Date.parse(t.start_time);
  // WES times are whole seconds.
  return ms < 1000 ? '< 1 s' : formatDuration(ms);
}

export function RunPage({ runId }: { runId: string }) {
  const [run, setRun] = useState<RunLog | undefined>();
  const [tasks, setTasks] = useState<TaskLog[]>([]);
  const [outputs, setOutputs] = useState<OutputFile[] | undefined>();
  const [error, setError] = useState<unknown>();
  const [seen, setSeen] = useState<Seen[]>([]);
  const [fastUntil, setFastUntil] = useState(0);
  const lastState = useRef('');
  const taskPages = useRef<TaskPage<TaskLog>[]>([]);

  const note = (state: string) => {
    if (state !== lastState.current) {
      lastState.current = state;
      setSeen((s) => [...s, { state, at: Date.now() }]);
    }
  };

  const refresh = async (): Promise<boolean> => {
    try {
      const log = await wesJson<RunLog>(runPath(runId));
      note(log.state);
      setRun(log);
      const ended = isTerminal(log.state);
      taskPages.current = await refreshTaskPages(taskPages.current, (t) => t.end_time !== undefined, (token) => readTaskPage(runId, token));
      setTasks(taskPages.current.flatMap((p) => p.tasks));
      if (ended) setOutputs((await wesJson<{ files: OutputFile[] }>(runPath(runId, '/outputs'))).files);
      setError(undefined);
      return ended;
    } catch (err) {
      setError(err);
      return false;
    }
  };
  const fast = Date.now() < fastUntil;
  usePolling(refresh, fast ? CANCEL_POLL_MS : RUN_POLL_MS, [runId, fast]);
  useEffect(() => {
    if (!fastUntil) return;
    const t = setTimeout(() => setFastUntil(0), Math.max(0, fastUntil - Date.now()));
    return () => clearTimeout(t);
  }, [fastUntil]);

  const onCanceled = async () => {
    setFastUntil(Date.now() + 30_000);
    try {
      const status = await wesJson<{ state: string }>(runPath(runId, '/status'));
      note(status.state);
    } catch {
      // the next poll tells
    }
  };

  if (!run) {
    return (
      <main id="main" tabIndex={-1}>
        <h1>Run <span class="mono">{runId}</span></h1>
        {error ? <ErrorNote error={error} /> : <p class="muted">Loading…</p>}
      </main>
    );
  }
  const ended = isTerminal(run.state);
  const submitted = uuidv7Time(runId);
  const req = run.request;
  return (
    <main id="main" tabIndex={-1}>
      <h1>
        Run <span class="mono break">{runId}</span>
      </h1>
      <p class="run-state">
        State: <StateBadge state={run.state} />
        {!ended && <CancelButton runId={runId} state={run.state} onCanceled={onCanceled} />}
      </p>
      <ErrorNote error={error} />

      <Section title="Timeline" id="timeline">
        <ol class="timeline">
          {submitted !== undefined && <li>Submitted (QUEUED): {formatTime(submitted)}</li>}
          {run.run_log.start_time && <li>Started: {formatTime(run.run_log.start_time)}</li>}
          {run.run_log.end_time && (
            <li>
              Ended {run.state}: {formatTime(run.run_log.end_time)}
              {run.run_log.start_time && ` (ran ${formatDuration(Date.parse(run.run_log.end_time) - Date.parse(run.run_log.start_time))})`}
            </li>
          )}
        </ol>
        <p class="muted small">States seen by this page:</p>
        <ol class="seen" aria-label="States seen by this page">
          {seen.map((s, i) => (
            <li key={i} data-state={s.state}>
              <StateBadge state={s.state} /> {new Date(s.at).toLocaleTimeString()}
            </li>
          ))}
        </ol>
      </Section>

      <Section title="Request" id="request">
        <Facts
          rows={[
            ['Workflow', <span class="mono break">{req.workflow_url}</span>],
            ['Type', `${req.workflow_type} ${req.workflow_type_version}`],
            ['Engine', [req.workflow_engine, req.workflow_engine_version].filter(Boolean).join(' ') || undefined],
            [
              'Engine parameters',
              Object.keys(req.workflow_engine_parameters ?? {}).length ? (
                <span class="mono">{Object.entries(req.workflow_engine_parameters ?? {}).map(([k, v]) => `${k}=${v}`).join(' ')}</span>
              ) : undefined,
            ],
            [
              'Tags',
              Object.keys(req.tags ?? {}).length
                ? Object.entries(req.tags ?? {}).map(([k, v]) => (
                    <span class="tag" key={k}>
                      {k}={v}
                    </span>
                  ))
                : undefined,
            ],
            ['Command', run.run_log.cmd?.length ? <span class="mono break">{run.run_log.cmd.join(' ')}</span> : undefined],
            ['Exit code', run.run_log.exit_code === undefined ? undefined : String(run.run_log.exit_code)],
          ]}
        />
        <details>
          <summary>Params</summary>
          <pre class="params">{JSON.stringify(req.workflow_params ?? {}, null, 2)}</pre>
        </details>
      </Section>

      <Section title={`Tasks (${tasks.length})`} id="tasks">
        {tasks.length === 0 ? (
          <p class="muted">{ended ? 'No tasks were recorded.' : 'No task has started yet.'}</p>
        ) : (
          <div class="table-wrap">
            <table class="tasks">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">State</th>
                  <th scope="col">Duration</th>
                  <th scope="col">Exit code</th>
                </tr>
              </thead>
              <tbody>
                {tasks.map((t) => (
                  <tr key={t.id}>
                    <td class="mono">{t.name}</td>
                    <td>{taskState(t, ended)}</td>
                    <td>{taskDuration(t)}</td>
                    <td>{t.exit_code ?? ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Section>

      <Section title="Logs" id="logs">
        <LogView runId={runId} stream="stdout" finished={ended} />
        <LogView runId={runId} stream="stderr" finished={ended} />
      </Section>

      <Section title="Outputs" id="outputs">
        {!ended ? (
          <p class="muted">Outputs are listed once the run ends.</p>
        ) : outputs && outputs.length > 0 ? (
          <OutputTree nodes={outputTree(outputs)} />
        ) : (
          <p class="muted">No output files.</p>
        )}
      </Section>

      <Section title="System logs" id="system-logs">
        {run.run_log.system_logs?.length ? (
          <pre class="system-logs" tabIndex={0}>
            {run.run_log.system_logs.join('\n')}
          </pre>
        ) : (
          <p class="muted">None.</p>
        )}
      </Section>
    </main>
  );
}

/**
 * A file's link. Without a token (or with a signed link) the browser fetches it itself; with a
 * token the file is fetched with it and handed over as a blob, since a plain link cannot send
 * an Authorization header.
 */
function DownloadLink({ node }: { node: OutputNode }) {
  const [error, setError] = useState<unknown>();
  const onClick = async (e: MouseEvent) => {
    // A signed link (it has a query) needs no header.
    if (!savedToken() || (node.url ?? '').includes('?')) return;
    e.preventDefault();
    try {
      const res = await wesFetch(node.url!);
      const href = URL.createObjectURL(await res.blob());
      const a = document.createElement('a');
      a.href = href;
      a.download = node.name;
      a.click();
      setTimeout(() => URL.revokeObjectURL(href), 60_000);
      setError(undefined);
    } catch (err) {
      setError(err);
    }
  };
  return (
    <>
      <a href={node.url} download={node.name} onClick={onClick}>
        {node.name}
      </a>
      <ErrorNote error={error} />
    </>
  );
}

function OutputTree({ nodes }: { nodes: OutputNode[] }) {
  return (
    <ul class="tree">
      {nodes.map((n) => (
        <li key={n.path}>
          {n.url !== undefined ? (
            <>
              <DownloadLink node={n} /> <span class="muted small">{formatBytes(n.size)}</span>
            </>
          ) : (
            <details open>
              <summary>
                {n.name}/ <span class="muted small">{formatBytes(n.size)}</span>
              </summary>
              <OutputTree nodes={n.children} />
            </details>
          )}
        </li>
      ))}
    </ul>
  );
}

/** Cancel, after a confirmation in a modal dialog (keyboard: focus moves into it, Escape closes it). */
function CancelButton({ runId, state, onCanceled }: { runId: string; state: string; onCanceled: () => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const confirm = async () => {
    setBusy(true);
    try {
      await wesFetch(runPath(runId, '/cancel'), { method: 'POST' });
      setError(undefined);
      dialog.current?.close();
      onCanceled();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <button type="button" class="danger" disabled={state === 'CANCELING'} onClick={() => dialog.current?.showModal()}>
        Cancel run
      </button>
      <dialog ref={dialog} aria-labelledby="cancel-title">
        <h2 id="cancel-title">Cancel this run?</h2>
        <p>
          The engine of run <span class="mono break">{runId}</span> is stopped; the run ends CANCELED. This cannot be undone.
        </p>
        <ErrorNote error={error} />
        <div class="buttons">
          <button type="button" class="danger" disabled={busy} onClick={confirm}>
            Yes, cancel the run
          </button>
          <button type="button" onClick={() => dialog.current?.close()}>
            No, keep it running
          </button>
        </div>
      </dialog>
    </>
  );
}
