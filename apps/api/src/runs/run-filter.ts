import { isIndexedTag, MAX_INDEXED_TAG_LENGTH, RUN_STATES, RunFilter, RunState } from '../../../../libs/runs/src';
import { BadRequestError } from '../common/wes-errors';

/** A query parameter given once (a string), repeated (an array), or not at all. */
type QueryValue = string | string[] | undefined;

const values = (v: QueryValue): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/**
 * The conditions of `GET /runs` (an extension of WES ListRuns): `state` (repeatable, or
 * comma-separated: a run in any of them) and `tag` (`key:value`, repeatable: a run carrying all
 * of them; the key ends at the first colon, the value may hold more). Bad values are a 400.
 */
export function parseRunFilter(state: QueryValue, tag: QueryValue): Omit<RunFilter, 'owner'> {
  const states: RunState[] = [];
  for (const s of values(state).flatMap((v) => v.split(','))) {
    const name = s.trim();
    if (!(RUN_STATES as readonly string[]).includes(name)) {
      throw new BadRequestError(`state: "${s}" is not a WES state (one of ${RUN_STATES.join(', ')})`);
    }
    states.push(name as RunState);
  }
  const tags: [string, string][] = [];
  for (const t of values(tag)) {
    const colon = t.indexOf(':');
    if (colon <= 0) throw new BadRequestError(`tag: "${t}" is not key:value (e.g. tag=project:alpha)`);
    const key = t.slice(0, colon);
    const value = t.slice(colon + 1);
    if (!isIndexedTag(key, value)) {
      throw new BadRequestError(`tag: "${t.slice(0, 40)}...": a tag key or value longer than ${MAX_INDEXED_TAG_LENGTH} characters cannot be filtered on`);
    }
    tags.push([key, value]);
  }
  return { states, tags };
}
