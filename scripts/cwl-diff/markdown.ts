/** The report as Markdown (`.cwl-diff/latest.md`), the form docs/CWL-DIFF.md quotes. */

export interface ReportRow {
  id: string;
  verdict: string;
  directExit: number | string | null;
  serverExit: number | string | null;
  differences: string[];
  note: string | null;
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function reportMarkdown(o: { summary: string; date: string; commit: string; cwltool?: string; results: ReportRow[]; skipped: { id: string; reason?: string }[] }): string {
  const lines = [
    `${o.summary} — ${o.date.slice(0, 10)}, commit ${o.commit}, cwltool ${o.cwltool ?? '?'}`,
    '',
    '| case | cwltool | server | verdict | first difference (or note) |',
    '|---|---|---|---|---|',
    ...o.results.map((r) => `| \`${cell(r.id)}\` | ${r.directExit} | ${r.serverExit} | ${r.verdict} | ${cell(r.differences[0] ?? r.note ?? '')} |`),
    '',
  ];
  const byReason = new Map<string, string[]>();
  for (const s of o.skipped) byReason.set(s.reason ?? '', [...(byReason.get(s.reason ?? '') ?? []), s.id]);
  lines.push(`Excluded (${o.skipped.length}), by reason:`, '');
  for (const [reason, ids] of [...byReason].sort((a, b) => b[1].length - a[1].length)) {
    lines.push(`- **${cell(reason)}** (${ids.length}): ${ids.map((id) => `\`${cell(id)}\``).join(', ')}`);
  }
  return `${lines.join('\n')}\n`;
}
