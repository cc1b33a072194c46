#!/usr/bin/env bash
# The README's test command (`npm test`): installs what is missing, type-checks, lints,
# runs the unit tests, brings up the local cluster (building its parts the first time),
# runs the end-to-end suites against it, and ends with one line: "N passed, N failed".
#
#   npm test                  everything
#   npm test -- --unit        type-check, lint and unit tests only (no cluster)
#   npm test -- --keep        leave the local cluster running afterwards
set -uo pipefail
. "$(dirname "$0")/lib/common.sh"
cd "$REPO_ROOT"

unit_only=false keep=false
for a in "$@"; do
  case "$a" in
    --unit) unit_only=true ;;
    --keep) keep=true ;;
    *) die "unknown option $a (use --unit or --keep)" ;;
  esac
done

need node "install Node.js >= 20 (https://nodejs.org)"
[ "$(node -p 'process.versions.node.split(".")[0]')" -ge 20 ] || die "Node.js >= 20 is required, found $(node --version)"
mkdir -p "$LOCAL_DIR/logs"
passed=0 failed=0
results="$LOCAL_DIR/test-results"
rm -rf "$results"; mkdir -p "$results"
totals() { echo "$passed passed, $failed failed" | tee "$LOCAL_DIR/test-totals.txt"; }

check() { # check NAME CMD... : one pass/fail line for a non-jest check
  local name="$1"; shift
  step "$name"
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); info "FAILED: $name"; fi
}

jest_run() { # jest_run NAME JEST-ARGS... : adds the suite's test counts to the totals
  local name="$1"; shift
  step "$name"
  node --experimental-vm-modules node_modules/jest/bin/jest.js "$@" --json --outputFile="$results/$name.json"
  local rc=$?
  if [ -s "$results/$name.json" ]; then
    read -r p f < <(node -e "const r=require('$results/$name.json');console.log(r.numPassedTests, r.numFailedTests + r.numRuntimeErrorTestSuites)")
    passed=$((passed + p)); failed=$((failed + f))
    [ "$rc" -eq 0 ] || [ "$f" -gt 0 ] || failed=$((failed + 1))
  else
    failed=$((failed + 1)); info "FAILED: $name produced no results"
  fi
}

ensure_npm_deps || { failed=$((failed + 1)); totals; exit 1; }
# The chart's unit tests run the pinned helm, so the tools come first (cached after the
# first run; that first build takes several minutes).
check "cluster tools (built once, then cached)" bash "$HACK_DIR/build-tools.sh"
check "type-check (tsc -b)" npx tsc -b
check "lint (eslint, prettier)" npm run --silent lint
jest_run unit --selectProjects unit

if ! $unit_only; then
  cluster_was_up=false
  [ -f "$LOCAL_DIR/cluster.env" ] && KUBECONFIG="$LOCAL_DIR/kubeconfig" \
    PATH="$(tools_path):$PATH" kubectl get --raw /readyz >/dev/null 2>&1 && cluster_was_up=true
  step "local cluster (first run builds Kubernetes, etcd, kwok and helm from source)"
  if bash "$HACK_DIR/cluster-up.sh"; then
    jest_run e2e --selectProjects e2e --runInBand
  else
    failed=$((failed + 1)); info "FAILED: the local cluster did not come up"
  fi
  if ! $keep && ! $cluster_was_up; then bash "$HACK_DIR/cluster-down.sh" || true; fi
fi

totals
[ "$failed" -eq 0 ]
