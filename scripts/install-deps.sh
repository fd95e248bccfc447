#!/usr/bin/env bash
# Installs what this repository needs and is missing; safe to run again and again.
#
#   Node.js 20.19+, 22.12+    checked only (install it yourself: https://nodejs.org)
#   or 24+
#   redis-server, cwltool,    Debian/Ubuntu packages (apt-get; root or sudo); bubblewrap is the
#   bubblewrap                engines' sandbox (WES_SANDBOX=bwrap, the default)
#   curl                      Debian package, used by scripts/quickstart.sh
#   docker-compose            Debian package, only with --with-compose (test/compose.test.ts)
#   python3-cwl-utils, toil   Debian packages, only with --with-cwl-docs: the CWL documents they
#                             (and cwltool) ship are what test/e2e/cwl-diff.test.ts and
#                             `npm run cwl-diff` run
#   toil, python3-wdlparse,   Debian packages, only with --with-engines: the engines besides
#   snakemake                 cwltool (toil-cwl-runner, toil-wdl-runner, snakemake) the tests run
#   node_modules              `npm ci` when missing or older than package-lock.json
#   dist/                     `npm run build` when missing or older than the sources
#
# Usage: scripts/install-deps.sh [--with-compose] [--with-cwl-docs] [--with-engines] [--skip-build]
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

with_compose=false
with_cwl_docs=false
with_engines=false
skip_build=false
for arg in "$@"; do
  case "$arg" in
    --with-compose) with_compose=true ;;
    --with-cwl-docs) with_cwl_docs=true ;;
    --with-engines) with_engines=true ;;
    --skip-build) skip_build=true ;;
    -h | --help)
      sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "install-deps: unknown option '$arg' (try --help)" >&2
      exit 2
      ;;
  esac
done

say() { echo "install-deps: $*"; }
die() {
  echo "install-deps: ERROR: $*" >&2
  exit 1
}

# --- Node.js ---------------------------------------------------------------------------
# As package.json's engines: execa 9 needs require(esm), on by default from 20.19 and 22.12; 21
# and 23 are past their end of life.
required_node='20.19+, 22.12+ or 24+'
command -v node >/dev/null 2>&1 ||
  die "Node.js $required_node is required but 'node' is not on PATH. Install it (https://nodejs.org, or https://github.com/nodesource/distributions) and run this again."
command -v npm >/dev/null 2>&1 || die "'npm' is not on PATH; install the npm that comes with Node.js $required_node."
node_version=$(node -p 'process.versions.node')
IFS=. read -r node_major node_minor _ <<<"$node_version"
if ! ((node_major == 20 && node_minor >= 19 || node_major == 22 && node_minor >= 12 || node_major >= 24)); then
  die "Node.js $required_node is required; 'node' on PATH is $node_version ($(command -v node)). Upgrade Node.js and run this again."
fi

# --- system packages -------------------------------------------------------------------
# command name -> Debian package
missing_pkgs=()
need() { command -v "$1" >/dev/null 2>&1 || missing_pkgs+=("$2"); }
# For packages wanted for their files rather than a command.
need_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed' || missing_pkgs+=("$1"); }
need redis-server redis-server
need redis-cli redis-tools
need cwltool cwltool
need bwrap bubblewrap
need curl curl
if $with_compose; then need docker-compose docker-compose; fi
if $with_cwl_docs; then
  need_pkg python3-cwl-utils
  need_pkg toil
fi
if $with_engines; then
  # Toil's WDL runner needs the parser package, which toil only suggests.
  need toil-cwl-runner toil
  need_pkg python3-wdlparse
  need snakemake snakemake
fi

if ((${#missing_pkgs[@]} > 0)); then
  say "missing system packages: ${missing_pkgs[*]}"
  if ! command -v apt-get >/dev/null 2>&1; then
    die "no apt-get on this machine; install these yourself and run this again: ${missing_pkgs[*]}"
  fi
  if [[ $(id -u) -eq 0 ]]; then
    as_root=()
  elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
    say "using sudo to install them"
  else
    die "installing needs root and there is no sudo; as root, run:
    apt-get update && apt-get install -y --no-install-recommends ${missing_pkgs[*]}
and then run this again."
  fi
  # --no-install-recommends: cwltool recommends Debian's nodejs and docker-compose
  # recommends docker.io; neither is wanted (Node.js is already here, no engine is needed).
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing_pkgs[@]}"
  for pkg in "${missing_pkgs[@]}"; do
    case "$pkg" in
      redis-tools) cmd=redis-cli ;;
      bubblewrap) cmd=bwrap ;;
      python3-cwl-utils | python3-wdlparse)
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || die "$pkg is still not installed"
        continue
        ;;
      *) cmd=$pkg ;;
    esac
    command -v "$cmd" >/dev/null 2>&1 || die "'$cmd' is still not on PATH after installing $pkg"
  done
fi

# --- node_modules ----------------------------------------------------------------------
if [[ ! -d node_modules || ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  say "npm ci"
  npm ci --no-audit --no-fund
fi

# --- dist/ -----------------------------------------------------------------------------
# dist/.build-stamp is written after a build succeeds; any source newer than it means stale.
stamp=dist/.build-stamp
build_needed() {
  [[ -f $stamp && -f dist/apps/api/src/main.js && -f dist/apps/worker/src/main.js ]] || return 0
  [[ -n $(find apps libs -newer "$stamp" -type f -print -quit 2>/dev/null) ]] && return 0
  for f in package.json package-lock.json tsconfig.json tsconfig.build.json; do
    [[ $f -nt $stamp ]] && return 0
  done
  return 1
}
if ! $skip_build && build_needed; then
  say "npm run build"
  npm run build
  touch "$stamp"
fi

say "ready (node $node_version, redis $(redis-server --version | sed -n 's/.* v=\([^ ]*\).*/\1/p'), cwltool $(cwltool --version 2>/dev/null | awk '{print $NF}'))"
