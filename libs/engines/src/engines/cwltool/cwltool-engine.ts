import { EngineCommandInput, EngineDefinition, EngineRunFiles } from '../../engine-definition';
import { CWL } from '../../languages/cwl/cwl-language';
import { readCwlOutputObject } from '../../languages/cwl/cwl-output-object';
import { CwltoolTaskParser } from './cwltool-tasks';

/**
 * cwltool, the CWL reference runner. It prints the output object on stdout (and `{}` even
 * when it fails: the exit code decides). Its stop signal is SIGINT: sent to its process group
 * it ends in ~0.3 s (measured: scripts/cancel-latency.ts). SIGTERM alone takes it ~10 s; under
 * the `timeout` guard the worker starts it with, which relays the signal again, ~0.5-1.5 s.
 */
export const CWLTOOL = {
  name: 'cwltool',
  workflowTypes: { [CWL.type]: CWL.versions },
  executable: { default: 'cwltool', install: 'Debian: apt-get install cwltool' },
  versionArgs: ['--version'],
  stopSignal: 'SIGINT',
  minStopGraceMs: 0,
  // cwltool needs nothing of the worker's environment: node for JavaScript is found on PATH.
  environment: [],
  parameters: [
    { name: '--parallel', type: 'boolean', default_value: 'false', description: 'Run independent steps in parallel' },
    { name: '--strict', type: 'boolean', default_value: 'true', description: 'Strict validation of the CWL document (false: --non-strict)' },
    { name: '--relax-path-checks', type: 'boolean', default_value: 'false', description: 'Allow any character in file names' },
    { name: '--timestamps', type: 'boolean', default_value: 'false', description: 'Add timestamps to the log lines' },
    { name: '--debug', type: 'boolean', default_value: 'false', description: 'Verbose engine log' },
    {
      name: '--enable-ext',
      type: 'boolean',
      default_value: 'false',
      description: "Accept cwltool's extensions (cwltool:Loop, cwltool:TimeLimit, ...) in the documents",
    },
    { name: '--enable-dev', type: 'boolean', default_value: 'false', description: 'Accept development versions of CWL in referenced documents' },
    {
      name: '--on-error',
      type: 'string',
      default_value: 'stop',
      choices: ['stop', 'continue'],
      description: 'On a failed step: stop the workflow, or continue the steps that do not depend on it',
    },
  ],
  // From `cwltool --help`: where the client's own run would put outputs, temporary files,
  // caches, logs and container ids, and how it prints. The server decides those for itself.
  clientSideParameters: [
    '--outdir',
    '--basedir',
    '--tmpdir-prefix',
    '--tmp-outdir-prefix',
    '--cachedir',
    '--log-dir',
    '--leave-tmpdir',
    '--rm-tmpdir',
    '--move-outputs',
    '--leave-outputs',
    '--copy-outputs',
    '--rm-container',
    '--leave-container',
    '--cidfile-dir',
    '--cidfile-prefix',
    '--write-summary',
    '--quiet',
    '--verbose',
    '--disable-color',
    '--enable-color',
    '--no-doc-cache',
    '--doc-cache',
  ],
  command(executable: string, input: EngineCommandInput) {
    const args = ['--disable-color', '--outdir', input.outDir, '--tmpdir-prefix', `${input.tmpDir}/`, '--tmp-outdir-prefix', `${input.tmpDir}/`];
    for (const [name, value] of Object.entries(input.parameters)) {
      if (name === '--strict') {
        if (value === 'false') args.push('--non-strict');
      } else if (name === '--on-error') {
        args.push('--on-error', value);
      } else if (value === 'true') {
        args.push(name);
      }
    }
    args.push(input.workflowPath, input.paramsPath);
    return { file: executable, args };
  },
  // The output object on stdout; `{}` when it printed nothing.
  readOutputs: (files: EngineRunFiles) => readCwlOutputObject(files.stdoutFile),
  createTaskParser: () => new CwltoolTaskParser(),
  // `cwltool --version` prints `/usr/bin/cwltool 3.1.20240112164112`: the last token.
  parseVersion(output: string) {
    const tokens = output.trim().split(/\s+/);
    return tokens[tokens.length - 1] ?? 'unknown';
  },
} satisfies EngineDefinition;
