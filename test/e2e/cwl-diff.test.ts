import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CASES, caseId, DEBIAN_CWL_ROOT } from '../../scripts/cwl-diff/cases';
import { CaseResult, runCases } from '../../scripts/cwl-diff/run-cases';
import { directRunner, killRunningSides, serverRunner } from '../../scripts/cwl-diff/runners';
import { cleanEnv } from '../../scripts/lib/wes-stack';
import { useStack } from '../helpers/e2e';
import { CWLTOOL, ROOT } from '../helpers/stack';

/**
 * `npm run cwl-diff` in small: a fixed subset of the Debian-shipped CWL documents, each run by
 * cwltool directly and by `wes run` against a private stack, compared by the same code. Chosen
 * for speed and variety: defaults, scatter, a sub-workflow, a packed $graph run by #fragment,
 * ExpressionTool, conditional steps, secondaryFiles in and out, a Directory input and a
 * Directory output, InitialWorkDir, records (of Files too) and big integers, $import, formats,
 * overrides and requirements in the job, a cwltool:Loop (--enable-ext), and failing tools and
 * workflows.
 */
const SUBSET = [
  'cwl_utils:stdout-wf_v1_0.cwl',
  'cwl_utils:workflow_input_format_expr.cwl',
  'cwl_utils:workflow_input_sf_expr.cwl',
  'cwl_utils:workflow_input_sf_expr_array.cwl',
  'cwl_utils:js-expr-req-wf.cwl#wf',
  'cwltool:env.cwl',
  'cwltool:wf/iwdr-passthrough-successive.cwl',
  'cwltool:wf/iwdr-empty.cwl',
  'cwltool:wf/js_output_workflow.cwl',
  'cwltool:wf/no-parameters-echo.cwl',
  'cwltool:wf/paramref_arguments_roundtrip.cwl',
  'cwltool:wf/record_outputeval.cwl',
  'cwltool:wf/sec-wf-out.cwl',
  'cwltool:wf/optional-numerical-output-0.cwl',
  'cwltool:wf/vf-concat.cwl',
  'toil:echo-stderr.cwl',
  'toil:conditional_wf.cwl + conditional_wf.yaml',
  'cwltool:wf/listing_v1_0.cwl + listing2-job.yml',
  'cwltool:override/echo-wf.cwl + override/echo-job.yml',
  'cwltool:override/echo.cwl + override/echo-job-ov.yml',
  'cwltool:override/env-tool_v1.1.cwl + override/env-tool_cwl-requirement_override.yaml',
  'cwltool:secondary-files-string-v1.cwl + secondary-files-job.yml',
  'cwltool:wf/811.cwl + wf/811_inputs.yml',
  'cwltool:wf/formattest.cwl + wf/formattest-job.json',
  'cwltool:wf/scatter-wf4.cwl + wf/scatter-job2.json',
  'cwltool:subgraph/env-wf2_subwf.cwl + subgraph/env-job.json',
  'cwltool:subgraph/env-tool2_no_env.cwl + subgraph/env-job.json',
  // cwltool's extensions, asked for with the --enable-ext engine parameter.
  'cwltool:loop/loop-inside-scatter.cwl + loop/loop-inside-scatter-job.yml [--enable-ext]',
  // Failing: a tool whose outputs are wrong, a missing command, a bad scatter element, a failed
  // workflow step, a bad argument, a job the document's version refuses, null for a required input.
  'cwltool:wf/badout1.cwl',
  'cwltool:wf/missing-tool.cwl',
  'cwltool:wf/scatterfail.cwl',
  'cwltool:wf/wffail.cwl',
  'cwltool:wf/separate_without_prefix.cwl',
  'cwltool:echo.cwl + echo-job.yaml',
  'cwltool:wf/optional_src_mandatory_sink.cwl',
];

/** Cases at once (and the worker's concurrency): more than the 2 cores, as each side also waits (polls, uploads). */
const CONCURRENCY = 4;
const byId = new Map(CASES.map((c) => [caseId(c), c]));
const subset = SUBSET.map((id) => byId.get(id)).filter((c) => c !== undefined);

const handle = useStack({ workerConcurrency: CONCURRENCY });
let root: string;
let results = new Map<string, CaseResult>();
let wallMs = 0;

beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'wes-cwl-diff-e2e-'));
  const env = cleanEnv();
  const t0 = Date.now();
  const done = await runCases(subset, {
    root,
    concurrency: CONCURRENCY,
    keep: process.env.WES_TEST_KEEP === '1',
    runners: {
      direct: directRunner({ cwltool: CWLTOOL, timeoutMs: 120_000, env }),
      server: serverRunner({ cliEntry: path.join(ROOT, 'dist/apps/cli/src/main.js'), wesUrl: handle.stack.origin, timeoutMs: 120_000, env }),
    },
  });
  wallMs = Date.now() - t0;
  results = new Map(done.map((r) => [r.id, r]));
}, 600_000);

afterAll(() => {
  killRunningSides();
  if (root && process.env.WES_TEST_KEEP !== '1') rmSync(root, { recursive: true, force: true });
  if (wallMs) console.log(`cwl-diff subset: ${results.size} cases in ${(wallMs / 1000).toFixed(1)} s at concurrency ${CONCURRENCY}`);
});

describe('cwl-diff subset', () => {
  it('is a fixed list of at least 30 cases of the table, none skipped, some failing', () => {
    expect(SUBSET.length).toBeGreaterThanOrEqual(30);
    expect(new Set(SUBSET).size).toBe(SUBSET.length);
    expect(SUBSET.filter((id) => !byId.has(id))).toEqual([]);
    expect(subset.filter((c) => c.skip).map(caseId)).toEqual([]);
    expect(subset.filter((c) => c.directExit !== 0).length).toBeGreaterThanOrEqual(5);
  });

  it.each(SUBSET)('%s: same exit and outputs through the server as with cwltool', (id) => {
    const r = results.get(id);
    expect(r, `${id} did not run`).toBeDefined();
    if (!r) return;
    const c = r.comparison;
    const why = `${id}: ${c.firstDifference}\n${c.differences.join('\n')}\n(its folders, kept with WES_TEST_KEEP=1: ${r.direct.dir}, ${r.server.dir})`;
    expect(c.verdict, why).toBe('identical');
    // A comparison that compared nothing would pass too: a succeeding case has outputs on both sides.
    if (r.case.directExit === 0) expect(r.direct.outputs && r.server.outputs).toBeTruthy();
  });
});

describe('cwl-diff case table', () => {
  it('has a row for every CWL document the three Debian packages ship, and every file it names exists', () => {
    const shipped = execFileSync('dpkg', ['-L', 'cwltool', 'python3-cwl-utils', 'toil'], { encoding: 'utf8' })
      .split('\n')
      .filter((f) => f.endsWith('.cwl') && f.startsWith(`${DEBIAN_CWL_ROOT}/`))
      .map((f) => path.relative(DEBIAN_CWL_ROOT, f));
    const rowDocs = new Set(CASES.map((c) => c.doc.split('#')[0]));
    expect(shipped.length).toBeGreaterThan(300);
    expect(shipped.filter((d) => !rowDocs.has(d))).toEqual([]);
    const missing = CASES.flatMap((c) => [c.doc.split('#')[0], ...(c.job ? [c.job] : [])]).filter((f) => !existsSync(path.join(DEBIAN_CWL_ROOT, f)));
    expect(missing).toEqual([]);
    expect(new Set(CASES.map(caseId)).size).toBe(CASES.length);
  });
});
