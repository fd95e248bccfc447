import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { EngineView, LanguageDefinition, SandboxSettings } from '../../../../libs/engines/src';
import { UrlFetcher } from '../../../../libs/fetch/src';
import { stringifyJson } from '../../../../libs/json/src';
import { RunRecord, runObjectKeys } from '../../../../libs/runs/src';
import { downloadToFile, ObjectStore, resolveInside } from '../../../../libs/storage/src';
import { prepareSandbox } from '../engine-sandbox';
import { stageInputs } from '../input-stager';
import { paramsFileName, RunInterrupted, reasonOf } from './run-attempt';

const STAGING = 'while its inputs were being staged';

/**
 * A scratch folder of at most this many entries is removed with synchronous calls (a no-op run's
 * holds about 15: the asynchronous rm costs three times the CPU, a thread-pool round trip per
 * entry); a larger one with the asynchronous rm, which does not hold up the worker's other runs.
 */
const SMALL_TREE_ENTRIES = 256;

/**
 * Step 2, stage: a private scratch folder for the run, filled with its attachments (sub-folders
 * kept), the inputs fetched from URLs, the params file (its locations as the engine sees them,
 * found by the language's walker), the output and tmp folders, and what the sandbox needs.
 * An input that cannot be had throws InputUnavailableError (input-stager.ts).
 */
export class StageStep {
  constructor(
    private readonly workDir: string,
    private readonly store: ObjectStore,
    private readonly fetcher: UrlFetcher,
    private readonly sandbox: SandboxSettings,
  ) {}

  /**
   * A new scratch folder under the work folder (made, or made again, only when it is missing).
   * Synchronous, as are the run's folders and its params file below: each is one quick kernel
   * call, cheaper than the thread-pool round trip an asynchronous call costs (issue 15).
   */
  makeScratch(runId: string): string {
    const prefix = path.join(path.resolve(this.workDir), `${runId}-`);
    try {
      return mkdtempSync(prefix);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      mkdirSync(this.workDir, { recursive: true });
      return mkdtempSync(prefix);
    }
  }

  /** Removes a run's scratch folder (see SMALL_TREE_ENTRIES). */
  async removeScratch(scratch: string): Promise<void> {
    let left = SMALL_TREE_ENTRIES;
    // Links are not followed: a link the engine made to a folder counts as one entry.
    const small = (dir: string): boolean => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        if (--left < 0) return false;
        if (e.isDirectory() && !small(path.join(dir, e.name))) return false;
      }
      return true;
    };
    let isSmall = false;
    try {
      isSmall = small(scratch);
    } catch {
      // Unreadable or gone: the asynchronous rm says what it can.
    }
    if (isSmall) rmSync(scratch, { recursive: true, force: true });
    else await rm(scratch, { recursive: true, force: true });
  }

  async stage(run: RunRecord, language: LanguageDefinition, view: EngineView, signal: AbortSignal): Promise<void> {
    const { folders } = view;
    const inputs = folders.attachments;
    for (const d of [folders.attachments, folders.inputs, folders.outputs, folders.tmp, path.join(folders.root, 'logs')]) mkdirSync(d);
    for (const name of run.attachments) {
      if (signal.aborted) throw new RunInterrupted(reasonOf(signal), STAGING);
      await downloadToFile(this.store, runObjectKeys.attachment(run.runId, name), resolveInside(inputs, name), signal).catch((err) => {
        throw signal.aborted ? new RunInterrupted(reasonOf(signal), STAGING) : err;
      });
    }
    const staging = { attachmentsDir: inputs, attachments: run.attachments, inputsDir: folders.inputs, toEngine: (p: string) => view.toEngine(p) };
    const { params } = await stageInputs(language.files, run.request.workflow_params, staging, this.fetcher, signal).catch((err) => {
      throw signal.aborted ? new RunInterrupted(reasonOf(signal), STAGING) : err;
    });
    writeFileSync(path.join(inputs, paramsFileName(run.attachments)), stringifyJson(params, 2));
    await prepareSandbox(folders, this.sandbox);
  }
}
