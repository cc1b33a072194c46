# Shared helpers for hack/ scripts: where things live, progress output, prerequisites.
# Sourced, never executed.

HACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPO_ROOT="$(cd "$HACK_DIR/.." && pwd)"
# shellcheck source=../versions.env
. "$HACK_DIR/versions.env"

# Built binaries live outside the repository so fresh clones (and CI) reuse them.
STEERER_CACHE_DIR="${STEERER_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/steerer}"
# Per-clone runtime state (pids, logs, kubeconfig) lives in the git-ignored .local/.
LOCAL_DIR="${STEERER_LOCAL_DIR:-$REPO_ROOT/.local}"
CLUSTER_NAME="${STEERER_CLUSTER_NAME:-steerer}"

step() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
info() { printf '    %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

need() { # need CMD "how to get it"
  command -v "$1" >/dev/null 2>&1 || die "'$1' not found: $2"
}

# run_logged LOGFILE CMD... : run a command with its output in LOGFILE; on failure print
# the command and the tail of its output, then fail.
ensure_npm_deps() { # npm ci when node_modules is missing or older than package-lock.json
  if [ -d "$REPO_ROOT/node_modules" ] && \
    [ ! "$REPO_ROOT/package-lock.json" -nt "$REPO_ROOT/node_modules/.package-lock.json" ]; then
    return 0
  fi
  step "installing npm dependencies"
  (cd "$REPO_ROOT" && npm ci --no-audit --no-fund)
}

run_logged() {
  local log="$1"; shift
  if ! "$@" >"$log" 2>&1; then
    printf 'error: command failed: %s\n--- last lines of %s ---\n' "$*" "$log" >&2
    tail -n 30 "$log" >&2
    exit 1
  fi
}

# Directory holding one tool at one pinned version. The go.sum hash is part of the
# key, so changing a pin in hack/tools never reuses a stale binary.
tool_dir() { # tool_dir NAME VERSION
  local sum
  # File contents only: the same pins give the same key from any clone's directory.
  sum=$(cat "$HACK_DIR/tools/$1/go.sum" "$HACK_DIR/tools/$1/go.mod" | sha256sum | cut -c1-12)
  printf '%s/bin/%s-%s-%s' "$STEERER_CACHE_DIR" "$1" "$2" "$sum"
}

# Paths of the cached tools (after hack/build-tools.sh has run).
tools_path() {
  printf '%s:%s:%s:%s' "$(tool_dir kubernetes "$KUBERNETES_VERSION")" "$(tool_dir kwok "$KWOK_VERSION")" \
    "$(tool_dir helm "$HELM_VERSION")" "$(tool_dir etcd "$ETCD_VERSION")"
}

free_port() {
  node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}

# alive PIDFILE PATTERN : true when the pid in PIDFILE runs and its command line
# contains PATTERN (so a recycled pid is never mistaken for ours).
alive() {
  local pid
  [ -f "$1" ] || return 1
  pid=$(cat "$1")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$2"
}

# stop_pid PIDFILE PATTERN : TERM, wait up to 10s, then KILL; only our own process.
stop_pid() {
  local pid i
  if alive "$1" "$2"; then
    pid=$(cat "$1")
    kill "$pid" 2>/dev/null || true
    for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$1"
}

# wait_for SECONDS DESCRIPTION CMD... : poll CMD until it succeeds or the deadline passes.
wait_for() {
  local deadline=$((SECONDS + $1)) what="$2"; shift 2
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || die "timed out after ${deadline}s waiting for $what"
    sleep 0.2
  done
}

# go_module_dir MODULE@VERSION : the module's directory in the Go module cache.
go_module_dir() {
  (cd "$HACK_DIR/tools/kubernetes" && go mod download -json "$1" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
}
