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
  cache-memory  the controller's caches per Rollout and per unrelated object, 100 to 10,000 apps (no cluster; ~2 min; --baseline=DIR)
  hooks       step lag of 50 Rollouts with and without a hanging lifecycle webhook (local cluster; ~5 min)
  judgment    false halts, false promotions, durations: OLD vs NEW rule, Monte Carlo (no cluster; one thread: ~30 min, --quick ~3 min)
USAGE
  exit 2
}
[ $# -ge 1 ] || usage
name="$1"; shift
case "$name" in
  detection|scale|hooks) needs_cluster=true ;;
  webhook|judgment|cache-memory) needs_cluster=false ;;
  *) usage ;;
esac

need node "install Node.js >= 20 (https://nodejs.org)"
ensure_npm_deps
if [ "$name" = judgment ]; then
  # One esbuild bundle of the benchmark with the controller's and the model's sources as
  # they are in the working tree (no tsc -b of every workspace); npm packages stay external.
  step "bundling the judgment benchmark (esbuild)"
  npx esbuild bench/src/judgment.ts --bundle --platform=node --format=esm --packages=external \
    --alias:@steerer/controller=./controller/src \
    --alias:@steerer/common/model=./common/src/model/index.ts \
    --alias:@steerer/common=./common/src/index.ts \
    --alias:@steerer/test/e2e/harness=./bench/src/lib/judgment-repo.ts \
    --sourcemap --log-level=warning --outfile=bench/dist/judgment.js
else
  step "building Steerer and the benchmarks"
  npx tsc -b
fi
if $needs_cluster; then
  step "local cluster"
  bash "$HACK_DIR/cluster-up.sh" >/dev/null
fi
step "benchmark $name"
exec node "bench/dist/$name.js" "$@"
