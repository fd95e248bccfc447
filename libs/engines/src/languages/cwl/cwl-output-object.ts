import { readFile } from 'node:fs/promises';
import { JsonTooDeepError, parseJson } from '../../../../json/src';

/**
 * The CWL output object a runner printed on its stdout (cwltool, toil-cwl-runner), numbers kept
 * exactly; `{}` when it printed nothing (cwltool prints `{}` even when it fails: the exit code
 * decides). Throws JsonTooDeepError when it nests too deep (the workflow's fault), an Error
 * saying so when it is not JSON (ours).
 */
export async function readCwlOutputObject(stdoutFile: string): Promise<unknown> {
  try {
    return parseJson((await readFile(stdoutFile, 'utf8')) || '{}');
  } catch (err) {
    if (err instanceof JsonTooDeepError) throw err;
    throw new Error(`its output object is not JSON: ${(err as Error).message}`);
  }
}
