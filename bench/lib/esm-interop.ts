/**
 * The bench runs under tsx, whose require() hook compiles an ES-module-only package to CommonJS
 * when a .ts file requires it, and then resolves that package's own imports with the "require"
 * condition: execa's dependencies (npm-run-path → unicorn-magic) export none, so requiring
 * libs/engines (and what imports it: libs/recovery) fails there, while the built server (plain
 * Node, which loads ES modules natively) has no such trouble. This loads such packages natively
 * first and puts them in require's cache, so the libs' require() finds them.
 */
import Module from 'node:module';

const nativeImport = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<unknown>;

/** Loads the ES-module-only `packages` natively, then calls `load` (which requires libs that import them). */
export async function requireWithEsm<T>(packages: string[], load: () => T): Promise<T> {
  for (const name of packages) {
    const file = require.resolve(name);
    if (require.cache[file]) continue;
    const m = new Module(file);
    m.filename = file;
    m.exports = await nativeImport(name);
    m.loaded = true;
    require.cache[file] = m;
  }
  return load();
}
