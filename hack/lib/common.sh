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
  sum=$(sha256sum "$HACK_DIR/tools/$1/go.sum" "$HACK_DIR/tools/$1/go.mod" | sha256sum | cut -c1-12)
  printf '%s/bin/%s-%s-%s' "$STEERER_CACHE_DIR" "$1" "$2" "$sum"
}
