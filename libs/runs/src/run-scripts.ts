import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { BACKFILL_SCRIPT } from './run-index-backfill';
import { ACTIVE_COUNT_SCRIPT, DELETE_SCRIPT, ENQUEUE_SCRIPT, HELD_SYNC_SCRIPT, LIST_FILTERED_SCRIPT, LIST_PAGE_SCRIPT, TRANSITION_SCRIPT } from './state-machine-scripts';

/** Every Lua script of the run model (a new script belongs here too: readiness checks them). */
export const RUN_SCRIPTS: readonly string[] = [TRANSITION_SCRIPT, ENQUEUE_SCRIPT, ACTIVE_COUNT_SCRIPT, LIST_PAGE_SCRIPT, LIST_FILTERED_SCRIPT, DELETE_SCRIPT, BACKFILL_SCRIPT, HELD_SYNC_SCRIPT];

const SHAS = RUN_SCRIPTS.map((lua) => createHash('sha1').update(lua).digest('hex'));

/**
 * Makes sure Redis holds every run script (SCRIPT EXISTS, then SCRIPT LOAD of those missing,
 * after a restart without them, say); resolves with how many it loaded. ioredis would load a
 * missing script on its first use anyway; readiness checks here that Redis accepts them.
 */
export async function loadRunScripts(redis: Redis): Promise<number> {
  const exists = (await redis.script('EXISTS', ...SHAS)) as number[];
  const missing = RUN_SCRIPTS.filter((_, i) => exists[i] !== 1);
  for (const lua of missing) await redis.script('LOAD', lua);
  return missing.length;
}
