#!/usr/bin/env node
import { runCli } from './cli-program';

// Run through `npm run wes -- ...`, npm starts us in the package's folder: go back to where
// the user was, so relative workflow, job and --outdir paths mean what they typed.
if (process.env.npm_lifecycle_event === 'wes' && process.env.INIT_CWD) process.chdir(process.env.INIT_CWD);

// `wes list | head`: a reader that stops early is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => process.exit(err.code === 'EPIPE' ? 0 : 1));

runCli(process.argv).then((code) => {
  // Let stdout and stderr drain (pipes may be asynchronous) before leaving.
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
});
