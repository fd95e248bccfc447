import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** The project's root folder (holding package.json and openapi/), from src/ or from dist/. */
export const PROJECT_ROOT = [path.resolve(__dirname, '../../..'), path.resolve(__dirname, '../../../..')].find((dir) =>
  existsSync(path.join(dir, 'openapi')),
) ?? process.cwd();

/** The server's own version, from package.json. */
export const SERVICE_VERSION: string = (() => {
  try {
    return JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')).version;
  } catch {
    return '0.0.0';
  }
})();

export const OPENAPI_DOCUMENT = path.join(PROJECT_ROOT, 'openapi', 'wes.openapi.yaml');
