#!/usr/bin/env bash
# `npm test`: installs what is missing (including docker-compose, for test/compose.test.ts,
# python3-cwl-utils and toil, whose CWL documents test/e2e/cwl-diff.test.ts runs, and the
# engines besides cwltool: toil, python3-wdlparse, snakemake, and chromium, which
# test/e2e/dashboard.test.ts drives), builds dist/ (some tests start the built API and worker;
# dist/web is the dashboard they serve), then runs vitest.
# Extra arguments go to vitest, e.g. `npm test -- test/compose.test.ts`.
# The exit code is vitest's.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/install-deps.sh --with-compose --with-cwl-docs --with-engines --with-browser --skip-build
echo "test: npm run build"
npm run build
touch dist/.build-stamp
exec npx vitest run "$@"
