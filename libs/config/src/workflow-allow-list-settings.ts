import { AllowListEntryError, compileAllowList } from '../../workflow-allow-list/src';
import { InvalidSettingError } from './invalid-setting-error';
import type { WesSettings } from './settings';

/**
 * Checks workflowAllowList at start-up (each entry one rule, in its documented form), so a
 * typo stops the API rather than refusing or allowing runs it should not. `origin` names where
 * the list came from.
 */
export function checkWorkflowAllowList(settings: WesSettings, origin: string): void {
  if (!Array.isArray(settings.workflowAllowList)) return; // class-validator has said so already
  try {
    compileAllowList(settings.workflowAllowList);
  } catch (err) {
    if (err instanceof AllowListEntryError) throw new InvalidSettingError(`invalid setting ${origin}${err.message}`);
    throw err;
  }
}
