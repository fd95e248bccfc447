import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const HERE = fileURLToPath(new URL('.', import.meta.url));

/**
 * The dashboard: a Preact SPA built into dist/web, which the API serves under
 * /ga4gh/wes/v1/ui/ (apps/api/src/dashboard/serve-dashboard.ts). JSX goes through Vite's own
 * transformer (oxc) with Preact's runtime: no Babel, no plugin.
 */
export default defineConfig({
  root: HERE,
  base: '/ga4gh/wes/v1/ui/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: fileURLToPath(new URL('../../dist/web', import.meta.url)),
    emptyOutDir: true,
    assetsDir: 'assets',
    // The page runs under a Content-Security-Policy without inline scripts or data: fonts.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    target: 'es2022',
    reportCompressedSize: true,
  },
});
