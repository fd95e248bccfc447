#!/usr/bin/env bash
# `npm run quickstart`: everything on this machine, from a fresh clone.
#
#  1. installs what is missing (scripts/install-deps.sh: redis-server, cwltool, curl,
#     node_modules, dist/);
#  2. starts a private Redis (unless REDIS_URL is set), the API and one worker, all keeping
#     their data under .wes/ and their logs in .wes/logs/;
#  3. submits examples/word-count (a two-step CWL workflow with a File input) with curl,
#     follows its state and prints its outputs;
#  4. keeps serving until Ctrl-C, then stops everything it started.
#
# Usage: scripts/quickstart.sh [--once]
#   --once   stop everything after the example instead of serving (exit 0 if it completed)
# Environment: WES_PORT (default 8080; another free port if busy), WES_HOST (default
# 127.0.0.1 here: the server runs any command a workflow holds, so it is not exposed),
# REDIS_URL (use that Redis instead of a private one), WES_DATA_DIR, WES_WORK_DIR, and every
# other setting in the README.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$(pwd)

once=false
for arg in "$@"; do
  case "$arg" in
    --once) once=true ;;
    -h | --help)
      sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "quickstart: unknown option '$arg' (try --help)" >&2
      exit 2
      ;;
  esac
done

say() { echo "quickstart: $*"; }
die() {
  echo "quickstart: ERROR: $*" >&2
  exit 1
}

bash scripts/install-deps.sh

home="$root/.wes"
logs="$home/logs"
mkdir -p "$logs" "$home/redis"
lock="$home/quickstart.pid"
children_file="$home/children.pids"

# --- one quickstart per .wes/; settle what a killed earlier one left behind -----------------
if [[ -f $lock ]]; then
  other=$(cat "$lock" 2>/dev/null || true)
  if [[ -n $other && $other != "$$" ]] && kill -0 "$other" 2>/dev/null &&
    tr '\0' ' ' 2>/dev/null <"/proc/$other/cmdline" | grep -q quickstart; then
    die "another quickstart (pid $other) is using $home; stop it first (Ctrl-C in its terminal, or kill $other)"
  fi
fi
echo $$ >"$lock"

is_ours() { # pid name: is pid still the process we started under that name?
  local cmd
  cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline") || return 1
  case "$2" in
    redis) [[ $cmd == redis-server* ]] ;;
    api) [[ $cmd == *dist/apps/api/src/main.js* ]] ;;
    worker) [[ $cmd == *dist/apps/worker/src/main.js* ]] ;;
    *) return 1 ;;
  esac
}

hurry=false
stop_part() { # pid name seconds: SIGTERM its process group, SIGKILL after the grace period
  local pid=$1 name=$2 grace=$3 waited=0
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
  say "stopping $name (pid $pid; waits up to ${grace} s, Ctrl-C again to kill it now)"
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do
    if $hurry || ((waited >= grace * 5)); then
      say "$name did not stop in time; killing it"
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.2 || true
    waited=$((waited + 1))
  done
  wait "$pid" 2>/dev/null || true
}

if [[ -s $children_file ]]; then
  while read -r pid name; do
    if kill -0 "$pid" 2>/dev/null && is_ours "$pid" "$name"; then
      say "found $name (pid $pid) left running by an earlier quickstart"
      stop_part "$pid" "$name" 30
    fi
  done < <(tac "$children_file") # the reverse of the start order: workers before Redis
fi
: >"$children_file"

# --- settings for every part started here -----------------------------------------------
export WES_DATA_DIR="${WES_DATA_DIR:-$home/store}"
export WES_WORK_DIR="${WES_WORK_DIR:-$home/work}"
export WES_HOST="${WES_HOST:-127.0.0.1}"
mkdir -p "$WES_DATA_DIR" "$WES_WORK_DIR"

free_port() { # a port the kernel says is free now
  node -e 'const s = require("net").createServer(); s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}
port_busy() { # port host
  node -e 'const s = require("net").createServer();
    s.once("error", () => process.exit(0));
    s.listen(Number(process.argv[1]), process.argv[2], () => s.close(() => process.exit(1)));' "$1" "$2"
}
json() { # js-expression over `j`, the JSON document on stdin; strings print raw
  node -e 'const j = JSON.parse(require("fs").readFileSync(0, "utf8"));
    const v = new Function("j", "return (" + process.argv[1] + ");")(j);
    if (v !== undefined) console.log(typeof v === "string" ? v : JSON.stringify(v, null, 2));' "$1"
}

redis_pid="" api_pid="" worker_pid=""

leftover_engine_groups() { # process groups of engines still working in our own scratch folder
  local p cmd stat
  # Only .wes/work is surely ours; a WES_WORK_DIR set by the user may be shared.
  [[ $WES_WORK_DIR == "$home/work" ]] || return 0
  for p in /proc/[0-9]*; do
    cmd=$(tr '\0' ' ' 2>/dev/null <"$p/cmdline") || continue
    [[ $cmd == *"$WES_WORK_DIR/"* ]] || continue
    # The engine runs in its own process group; its steps (other commands) share it.
    stat=$(cat "$p/stat" 2>/dev/null) || continue
    stat=${stat##*) }
    read -r _ _ pgid _ <<<"$stat"
    echo "$pgid"
  done | sort -u
  return 0
}

cleanup() {
  local rc=$?
  trap - EXIT
  # Stop everything even if a step fails (e.g. a sleep interrupted by another signal).
  set +e
  # A second Ctrl-C while stopping: stop waiting, kill what is left. (Not one within the
  # first seconds: `npm run` forwards the terminal's SIGINT, so one Ctrl-C arrives twice.)
  # shellcheck disable=SC2034 # read by the trap below
  stopping_since=$SECONDS
  trap '((SECONDS - stopping_since < 2)) || hurry=true' INT TERM
  echo
  stop_part "$worker_pid" worker 30
  local groups group
  groups=$(leftover_engine_groups)
  for group in $groups; do
    ((group > 1 && group != $$)) || continue
    say "killing engine process group $group left in $WES_WORK_DIR"
    kill -KILL -- "-$group" 2>/dev/null || true
  done
  stop_part "$api_pid" api 15
  stop_part "$redis_pid" redis 15
  rm -f "$children_file" "$lock"
  say "stopped everything it started (logs stay in $logs)"
  exit "$rc"
}
serving=false # Ctrl-C while serving is the normal way to stop: exit 0 then
trap cleanup EXIT
trap 'if $serving; then exit 0; else exit 130; fi' INT
trap 'if $serving; then exit 0; else exit 143; fi' TERM

start_part() { # name command...: own session and process group, output to .wes/logs/<name>.log
  local name=$1
  shift
  setsid "$@" >>"$logs/$name.log" 2>&1 </dev/null &
  local pid=$!
  echo "$pid $name" >>"$children_file"
  printf -v "${name}_pid" '%s' "$pid"
}

alive_or_die() { # name: the part must still run
  local pid_var="${1}_pid"
  kill -0 "${!pid_var}" 2>/dev/null && return 0
  local rc=0 how
  wait "${!pid_var}" 2>/dev/null || rc=$?
  if ((rc > 128)); then how="was killed by signal $(kill -l $((rc - 128)) 2>/dev/null || echo $((rc - 128)))"; else how="exited with status $rc"; fi
  echo "---- last lines of $logs/$1.log ----" >&2
  tail -n 40 "$logs/$1.log" >&2 || true
  die "$1 (pid ${!pid_var}) $how unexpectedly (see $logs/$1.log)"
}

# --- Redis -----------------------------------------------------------------------------------
if [[ -z ${REDIS_URL:-} ]]; then
  redis_port=$(free_port)
  # A password (AUTH), kept in a file only this user reads: even a network slip does not hand
  # the state machine over. It is made once and kept with the data.
  redis_conf="$home/redis/redis.conf"
  if [[ ! -s $redis_conf ]]; then
    (umask 077 && printf 'requirepass %s\n' "$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')" > "$redis_conf")
  fi
  export REDISCLI_AUTH
  REDISCLI_AUTH=$(awk '/^requirepass /{print $2}' "$redis_conf")
  # AOF on, RDB snapshots off: acknowledged runs survive a restart of this Redis.
  start_part redis redis-server "$redis_conf" --port "$redis_port" --bind 127.0.0.1 --protected-mode yes \
    --dir "$home/redis" --appendonly yes --save "" --daemonize no --logfile ""
  export REDIS_URL="redis://:$REDISCLI_AUTH@127.0.0.1:$redis_port"
  for _ in $(seq 100); do
    [[ $(redis-cli -p "$redis_port" ping 2>/dev/null) == PONG ]] && break
    alive_or_die redis
    sleep 0.2
  done
  [[ $(redis-cli -p "$redis_port" ping 2>/dev/null) == PONG ]] || die "private Redis did not answer on port $redis_port (see $logs/redis.log)"
  say "started a private Redis at redis://127.0.0.1:$redis_port with a password in .wes/redis/redis.conf (data in .wes/redis, log .wes/logs/redis.log)"
else
  say "using the Redis at REDIS_URL=$REDIS_URL"
fi

# --- API and one worker -------------------------------------------------------------------------
requested_port="${WES_PORT:-8080}"
if port_busy "$requested_port" "$WES_HOST"; then
  WES_PORT=$(free_port)
  say "port $requested_port is busy; the API uses port $WES_PORT instead"
else
  WES_PORT=$requested_port
fi
export WES_PORT

start_part api node dist/apps/api/src/main.js
start_part worker node dist/apps/worker/src/main.js
say "started the API (pid $api_pid) and a worker (pid $worker_pid); their logs: .wes/logs/api.log, .wes/logs/worker.log"

url_host=$WES_HOST
[[ $url_host == 0.0.0.0 || $url_host == :: ]] && url_host=127.0.0.1
[[ $url_host == *:* ]] && url_host="[$url_host]"
base="http://$url_host:$WES_PORT/ga4gh/wes/v1"

# service-info lists the engines of the live workers: cwltool shows once the worker is up.
say "waiting for $base/service-info to list cwltool"
ready=false
for _ in $(seq 120); do
  alive_or_die api
  alive_or_die worker
  if info=$(curl -fsS --max-time 5 "$base/service-info" 2>/dev/null) &&
    [[ $(json 'j.workflow_engine_versions?.cwltool ? "yes" : "no"' <<<"$info") == yes ]]; then
    ready=true
    break
  fi
  sleep 0.5
done
$ready || die "service-info did not list cwltool within 60 s (see $logs/api.log and $logs/worker.log)"
# shellcheck disable=SC2016 # a JavaScript template literal
say "service-info: $(json '`${j.name ?? "WES"}; WES ${j.type?.version ?? "?"}; engines ${JSON.stringify(j.workflow_engine_versions)}; types ${JSON.stringify(j.workflow_type_versions)}`' <<<"$info" | tr '\n' ' ')"

# --- the example run --------------------------------------------------------------------------------
ex=examples/word-count
say "submitting $ex (workflow.cwl runs tools/shout.cwl, then tools/count.cwl, on input.txt):"
submit=(curl -sS -X POST "$base/runs"
  -F workflow_type=CWL
  -F workflow_type_version=v1.2
  -F workflow_url=workflow.cwl
  -F "workflow_params=<$ex/params.json"
  -F 'tags={"example":"word-count"}'
  -F "workflow_attachment=@$ex/workflow.cwl;filename=workflow.cwl"
  -F "workflow_attachment=@$ex/tools/shout.cwl;filename=tools/shout.cwl"
  -F "workflow_attachment=@$ex/tools/count.cwl;filename=tools/count.cwl"
  -F "workflow_attachment=@$ex/input.txt;filename=input.txt")
echo "  ${submit[*]:0:5} \\"
for ((i = 5; i < ${#submit[@]}; i += 2)); do
  more=""
  ((i + 2 < ${#submit[@]})) && more=" \\"
  printf "    %s '%s'%s\n" "${submit[i]}" "${submit[i + 1]}" "$more"
done
response=$("${submit[@]}" -w '\n%{http_code}')
status=${response##*$'\n'}
body=${response%$'\n'*}
[[ $status == 200 ]] || die "POST /runs answered HTTP $status: $body"
run_id=$(json 'j.run_id' <<<"$body")
say "run id: $run_id"

terminal=" COMPLETE EXECUTOR_ERROR SYSTEM_ERROR CANCELED PREEMPTED "
state="" started=$SECONDS
while :; do
  alive_or_die api
  alive_or_die worker
  now=$(curl -fsS --max-time 5 "$base/runs/$run_id/status" | json 'j.state') || now=""
  if [[ -n $now && $now != "$state" ]]; then
    state=$now
    printf 'quickstart:   %4ds  %s\n' $((SECONDS - started)) "$state"
  fi
  [[ $terminal == *" $state "* ]] && break
  ((SECONDS - started < 600)) || die "run $run_id still $state after 10 minutes (see $logs/worker.log)"
  sleep 0.25
done

run_log=$(curl -fsS "$base/runs/$run_id")
if [[ $state != COMPLETE ]]; then
  echo "---- engine stderr ($base/runs/$run_id/logs/stderr) ----" >&2
  curl -sS "$base/runs/$run_id/logs/stderr" | tail -n 30 >&2 || true
  echo "---- RunLog ----" >&2
  echo "$run_log" >&2
  die "the example run ended $state"
fi

say "outputs (from GET $base/runs/$run_id):"
json 'j.outputs' <<<"$run_log" | sed 's/^/  /'

# One output file: its location, when the API gives an http(s) URL, else the outputs endpoint.
location=$(json 'j.outputs?.counts?.location ?? ""' <<<"$run_log")
if [[ $location != http://* && $location != https://* ]]; then
  location="$base/runs/$run_id/outputs/$(json 'j.outputs?.counts?.basename ?? "counts.txt"' <<<"$run_log")"
fi
say "downloading the 'counts' output (lines, words, bytes of the shouted text):"
echo "  curl -fsS $location"
curl -fsS "$location" | sed 's/^/  /'

echo
say "the WES server is running:"
echo "  API           $base"
echo "  service-info  $base/service-info"
echo "  API docs      $base/docs"
echo "  dashboard     $base/ui/  (this run: $base/ui/runs/$run_id)"
echo "  OpenAPI       $base/openapi.yaml"
echo "  this run      $base/runs/$run_id"
echo "  Redis         ${REDIS_URL/\/\/:*@/\/\/:***@}$([[ -n $redis_pid ]] && echo ' (private, password in .wes/redis/redis.conf; AOF in .wes/redis)')"
echo "  data          $WES_DATA_DIR (object store), $WES_WORK_DIR (scratch)"
echo "  logs          .wes/logs/api.log, .wes/logs/worker.log$([[ -n $redis_pid ]] && echo ', .wes/logs/redis.log')"

if $once; then
  say "--once: stopping"
  exit 0
fi
say "press Ctrl-C to stop everything"
serving=true
while :; do
  sleep 2 &
  wait $! || true
  alive_or_die api
  alive_or_die worker
  [[ -z $redis_pid ]] || alive_or_die redis
done
