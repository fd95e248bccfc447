import { settingUrl } from './url-prefix';

/**
 * GA4GH TRS v2 descriptor URLs:
 * `<server>/ga4gh/trs/v2/tools/{id}/versions/{version}/{type}/descriptor[/{relative path}]`,
 * the id and version percent-encoded as one path segment each (`%23workflow%2Fgithub.com%2Forg%2Frepo`).
 * This is what the Dockstore CLI sends as workflow_url (`dockstore workflow wes launch`:
 * `https://dockstore.org/api/ga4gh/trs/v2/tools/<id>/versions/<v>/PLAIN_CWL/descriptor/%2FDockstore.cwl`),
 * and how CWL documents on Dockstore reference each other. `PLAIN_` types (also written
 * `PLAIN-CWL`, `plain-CWL`) answer the raw document; others wrap it in JSON, which this server
 * does not run.
 */
export interface TrsDescriptorUrl {
  /** The TRS server's base URL, before `/ga4gh/trs/v2` (e.g. `https://dockstore.org/api`). */
  server: string;
  /** The tool id, decoded (e.g. `#workflow/github.com/org/repo`). */
  toolId: string;
  version: string;
  /** The descriptor type as written (`PLAIN_CWL`). */
  type: string;
  /** The document's path inside the tool version, decoded; none for the primary descriptor. */
  relativePath?: string;
}

const TRS_PATH = /^(.*?)\/ga4gh\/trs\/v2\/tools\/([^/]+)\/versions\/([^/]+)\/((?:plain[-_])?[a-z]+)\/descriptor(?:\/(.*))?$/i;

/** Normalises a TRS server base URL (no trailing `/`); throws an Error saying what is wrong. */
export function normaliseTrsServer(server: string): string {
  const url = settingUrl(server);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`"${server}" is not an http(s) URL`);
  if (url.username || url.password || url.search || url.hash) throw new Error(`"${server}": a TRS server URL holds no credentials, query or fragment`);
  if (/\/ga4gh\/trs\//i.test(url.pathname)) throw new Error(`"${server}": give the base URL, before /ga4gh/trs/v2 (e.g. https://dockstore.org/api)`);
  return url.href.replace(/\/+$/, '');
}

/** The parts of a TRS descriptor URL, or undefined when `url` is not one. */
export function parseTrsDescriptorUrl(url: string): TrsDescriptorUrl | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined;
  }
  if ((u.protocol !== 'https:' && u.protocol !== 'http:') || u.username || u.password || u.search) return undefined;
  const m = TRS_PATH.exec(u.pathname);
  if (!m) return undefined;
  let toolId: string;
  let version: string;
  let relativePath: string | undefined;
  try {
    toolId = decodeURIComponent(m[2]);
    version = decodeURIComponent(m[3]);
    relativePath = m[5] ? decodeURIComponent(m[5]) : undefined;
  } catch {
    return undefined;
  }
  // A `..` in the relative path (written %2E%2E or behind %2F) could lead a server out of the tool.
  if (m[1].includes('%') || (relativePath !== undefined && relativePath.split(/[/\\]/).includes('..'))) return undefined;
  return { server: `${u.origin}${m[1]}`, toolId, version, type: m[4], ...(relativePath ? { relativePath } : {}) };
}
