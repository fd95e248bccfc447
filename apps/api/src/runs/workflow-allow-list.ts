import { Inject, Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { WesSettings } from '../../../../libs/config/src';
import { languageOf } from '../../../../libs/engines/src';
import type { Logger } from '../../../../libs/logging/src';
import { LOGGER, OBJECT_STORE } from '../../../../libs/platform/src';
import { runObjectKeys } from '../../../../libs/runs/src';
import { ObjectStore } from '../../../../libs/storage/src';
import {
  AllowListEntry,
  collectWorkflowDocuments,
  compileAllowList,
  DocumentReader,
  DocumentSource,
  matchAllowList,
} from '../../../../libs/workflow-allow-list/src';
import type { Caller } from '../auth/caller';
import { ForbiddenError } from '../common/wes-errors';

/** An allow-list entry as service-info shows it. */
export interface AllowListEntryInfo {
  name: string;
  roles?: string[];
  url_prefix?: string;
  sha256?: string[];
  trs_id?: string;
  trs_server?: string;
  trs_versions?: string[];
}

/** Reads a run's attachments back from the object store: what the engine will read. */
function attachmentReader(store: ObjectStore, runId: string): DocumentReader {
  const key = (name: string) => runObjectKeys.attachment(runId, name);
  return {
    async bytes(name, maxBytes) {
      const { body, size } = await store.get(key(name));
      if (size > maxBytes) {
        body.destroy();
        return undefined;
      }
      const chunks: Buffer[] = [];
      for await (const chunk of body) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    },
    async sha256(name) {
      const hash = createHash('sha256');
      for await (const chunk of (await store.get(key(name))).body) hash.update(chunk as Buffer);
      return hash.digest('hex');
    },
  };
}

/**
 * The workflow allow-list (setting workflowAllowList): when it has entries, a run is accepted
 * only if one entry the caller may use covers every document of its workflow (see
 * libs/workflow-allow-list). Admins get no bypass: with authMode none everyone is admin, and
 * the list is what keeps a public server to its vetted workflows.
 */
@Injectable()
export class WorkflowAllowList {
  private readonly entries: readonly AllowListEntry[];

  constructor(
    settings: WesSettings,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.entries = compileAllowList(settings.workflowAllowList);
  }

  get enabled(): boolean {
    return this.entries.length > 0;
  }

  /**
   * Throws a 403 ForbiddenError unless the run's workflow is allowed for the caller, and its
   * workflow_params do not change it. `workflowPath` is the main document's attachment name;
   * `sources` says which attachments the server fetched and from where. Called once the run's
   * files are all in the store, before it is recorded.
   */
  async check(
    runId: string,
    run: { workflowPath: string; attachments: string[]; sources: ReadonlyMap<string, DocumentSource>; request: { workflow_params: Record<string, unknown>; workflow_type: string } },
    caller: Caller,
  ): Promise<void> {
    if (!this.enabled) return;
    const language = languageOf(run.request.workflow_type);
    if (!language) throw new Error(`no language for workflow type ${run.request.workflow_type}`);
    const directives = language.workflowChangingKeys.find(run.request.workflow_params);
    if (directives.length) {
      throw new ForbiddenError(
        `workflow_params: ${directives.map((k) => JSON.stringify(k)).join(', ')} would change the workflow (its requirements, or the tools it runs), ` +
          `which this server's workflow allow-list does not allow: ${language.workflowChangingKeys.rule}`,
      );
    }
    const { workflowPath: workflow, attachments, sources } = run;
    const set = await collectWorkflowDocuments(workflow, attachments, sources, attachmentReader(this.store, runId), language);
    const decision = matchAllowList(this.entries, caller.roles, set);
    if (decision.allowed) {
      this.logger.info({ runId, user: caller.name, allowListEntry: decision.entry }, 'workflow allowed by the allow-list');
      return;
    }
    this.logger.info({ runId, user: caller.name, reason: decision.reason }, 'workflow refused by the allow-list');
    throw new ForbiddenError(`the workflow is not in this server's workflow allow-list (see service-info workflow_allow_list): ${decision.reason}`);
  }

  /** The entries, for service-info; undefined when the list is off. */
  describe(): AllowListEntryInfo[] | undefined {
    if (!this.enabled) return undefined;
    return this.entries.map(({ name, roles, rule }) => ({
      name,
      ...(roles ? { roles: [...roles] } : {}),
      ...(rule.kind === 'urlPrefix' ? { url_prefix: rule.prefix } : {}),
      ...(rule.kind === 'sha256' ? { sha256: [...rule.hashes] } : {}),
      ...(rule.kind === 'trs' ? { trs_id: rule.toolId, trs_server: rule.server, ...(rule.versions ? { trs_versions: [...rule.versions] } : {}) } : {}),
    }));
  }
}
