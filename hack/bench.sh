#!/usr/bin/env bash
# `npm run bench -- NAME [options]`: builds Steerer and runs one benchmark (bench/src/NAME.ts).
# Benchmarks that need the local cluster (detection, scale) bring it up first. Each writes
# its result to bench/results/NAME-DATE.json and one line per figure on stdout; progress
# goes to stderr. `npm run bench -- NAME --help` lists a benchmark's options.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
cd "$REPO_ROOT"

usage() {
  cat >&2 <<USAGE
usage: npm run bench -- NAME [options]
  detection   how fast a failing canary is halted (local cluster; ~6 min)
  scale       controller cost at 100, 500 and 1,000 rollouts (local cluster; ~21 min, --sizes=1000 ~13 min)
  webhook     admission latency and throughput over HTTPS (no cluster; ~2 min)
USAGE
  exit 2
}
[ $# -ge 1 ] || usage
name="$1"; shift
case "$name" in
  detection|scale) needs_cluster=true ;;
  webhook) needs_cluster=false ;;
  *) usage ;;
esac

need node "install Node.js >= 20 (https://nodejs.org)"
ensure_npm_deps
step "building Steerer and the benchmarks"
npx tsc -b
if $needs_cluster; then
  step "local cluster"
  bash "$HACK_DIR/cluster-up.sh" >/dev/null
fi
step "benchmark $name"
exec node "bench/dist/$name.js" "$@"
