import { Command } from 'commander';
import { clientOf, note, positiveInt, printJson, printText } from '../cli-context';
import { runsTable, serviceInfoText } from '../human-format';
import type { RunSummary } from '../wes-types';

interface ListOptions {
  state?: string;
  tag: string[];
  pageSize?: number;
  pageToken?: string;
  all?: boolean;
  json?: boolean;
}

/** `list` and `info`: what the server holds and offers. */
export function serverQueryCommands(): Command[] {
  const list = new Command('list')
    .description('runs, newest first: one page (or --all)')
    .option('--state <state>', 'only runs in this state')
    .option('--tag <key:value>', 'only runs with this tag (repeat: runs with every one)', (v: string, all: string[]) => [...all, v], [] as string[])
    .option('--page-size <n>', 'runs per page (with --state: read pages until at least this many match)', positiveInt('--page-size'))
    .option('--page-token <token>', 'continue from the next_page_token of an earlier list')
    .option('--all', 'every run, page after page')
    .option('--json', 'print {"runs": [...], "next_page_token": ...} (numbers exact)')
    .action(async (options: ListOptions, cmd: Command) => {
      const client = clientOf(cmd);
      const state = options.state?.toUpperCase();
      const filtered = !!state || options.tag.length > 0;
      const runs: RunSummary[] = [];
      let token = options.pageToken;
      // The server filters, and may give a short page (it looks at a bounded number of runs a
      // page): with a filter, pages are read until enough match.
      const wanted = filtered ? (options.pageSize ?? 50) : 1;
      do {
        const page = await client.listRuns(options.pageSize, token, { state, tags: options.tag });
        runs.push(...(page.runs ?? []));
        token = page.next_page_token || undefined;
        if (!options.all && runs.length >= wanted) break;
      } while (token);
      if (options.json) {
        printJson({ runs, next_page_token: token ?? '' });
        return;
      }
      printText(runs.length ? runsTable(runs) : filtered ? 'no runs match' : 'no runs');
      const again = [...(state ? [`--state ${state}`] : []), ...options.tag.map((t) => `--tag '${t}'`)];
      if (token) note(`more: wes list --page-token ${token}${again.map((a) => ` ${a}`).join('')}`);
    });

  const info = new Command('info')
    .description('what the server runs (service-info)')
    .option('--json', 'print the server’s JSON')
    .action(async (options: { json?: boolean }, cmd: Command) => {
      const si = await clientOf(cmd).serviceInfo();
      if (options.json) printJson(si);
      else printText(serviceInfoText(si));
    });

  return [list, info];
}
