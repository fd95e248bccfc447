import { stringifyJson } from '../../../libs/json/src';
import { numberText } from './lossless-documents';
import type { RunLog, RunSummary, ServiceInfo, TaskLog } from './wes-types';

/** Left-aligned columns, two spaces apart; the last column is not padded. */
export function table(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : (cell ?? '').padEnd(widths[i]))).join('  ').trimEnd()).join('\n');
}

const tagsText = (tags: Record<string, string> | undefined) =>
  Object.entries(tags ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');

/** A value as text: numbers exact, undefined as '-'. */
function text(value: unknown): string {
  if (value === undefined || value === null || value === '') return '-';
  return numberText(value) ?? String(value);
}

export function runsTable(runs: RunSummary[]): string {
  return table(
    ['RUN_ID', 'STATE', 'START_TIME', 'END_TIME', 'TAGS'],
    runs.map((r) => [r.run_id, r.state, text(r.start_time), text(r.end_time), tagsText(r.tags)]),
  );
}

export function tasksTable(tasks: TaskLog[]): string {
  return table(
    ['ID', 'NAME', 'EXIT', 'START_TIME', 'END_TIME'],
    tasks.map((t) => [t.id, text(t.name), text(t.exit_code), text(t.start_time), text(t.end_time)]),
  );
}

/** A RunLog as labelled lines, its outputs as JSON. */
export function runLogText(log: RunLog): string {
  const req = log.request;
  const rl = log.run_log ?? {};
  const lines = [
    `run_id:      ${log.run_id}`,
    `state:       ${log.state}`,
    `workflow:    ${text(req?.workflow_url)} (${text(req?.workflow_type)} ${text(req?.workflow_type_version)})`,
    `engine:      ${text(req?.workflow_engine)}${req?.workflow_engine_version ? ` ${req.workflow_engine_version}` : ''}`,
  ];
  if (req?.tags && Object.keys(req.tags).length) lines.push(`tags:        ${tagsText(req.tags)}`);
  lines.push(
    `start_time:  ${text(rl.start_time)}`,
    `end_time:    ${text(rl.end_time)}`,
    `exit_code:   ${text(rl.exit_code)}`,
    `cmd:         ${rl.cmd?.length ? rl.cmd.join(' ') : '-'}`,
    `stdout:      ${text(rl.stdout)}`,
    `stderr:      ${text(rl.stderr)}`,
  );
  if (rl.system_logs?.length) lines.push('system_logs:', ...rl.system_logs.map((l) => `  ${l}`));
  lines.push(`outputs:     ${stringifyJson(log.outputs ?? {}, 2).replace(/\n/g, '\n             ')}`);
  return lines.join('\n');
}

export function serviceInfoText(info: ServiceInfo): string {
  const lines = [
    `name:          ${text(info.name)} ${info.version ?? ''}`.trimEnd(),
    `organization:  ${text(info.organization?.name)}${info.organization?.url ? ` (${info.organization.url})` : ''}`,
    `wes versions:  ${(info.supported_wes_versions ?? []).join(', ') || '-'}`,
    `workflows:     ${
      Object.entries(info.workflow_type_versions ?? {})
        .map(([t, v]) => `${t} ${(v.workflow_type_version ?? []).join(', ')}`)
        .join('; ') || '-'
    }`,
    `engines:       ${
      Object.entries(info.workflow_engine_versions ?? {})
        .map(([e, v]) => `${e} ${(v.workflow_engine_version ?? []).join(', ')}`)
        .join('; ') || '- (no live worker)'
    }`,
    `filesystems:   ${(info.supported_filesystem_protocols ?? []).join(', ') || '-'}`,
  ];
  const params = info.default_workflow_engine_parameters ?? [];
  if (params.length) lines.push(`engine params: ${params.map((p) => `${p.name}=${p.default_value ?? ''}`).join(' ')}`);
  const counts = Object.entries(info.system_state_counts ?? {}).filter(([, n]) => numberText(n) !== '0');
  lines.push(`runs:          ${counts.map(([s, n]) => `${s} ${text(n)}`).join(', ') || 'none'}`);
  if (info.tags && Object.keys(info.tags).length) lines.push(`tags:          ${tagsText(info.tags)}`);
  if (info.auth_instructions_url) lines.push(`auth:          ${info.auth_instructions_url}`);
  return lines.join('\n');
}
