#!/usr/bin/env bash
# `npm run demo [-- --keep]`: installs what is missing, brings up the local cluster and
# runs the seed's example end to end (test/src/demo/main.ts). Without --keep, whatever
# the demo started is removed at the end, the cluster too unless it was already up.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
cd "$REPO_ROOT"
keep=false
for a in "$@"; do [ "$a" = "--keep" ] && keep=true; done

need node "install Node.js >= 20 (https://nodejs.org)"
ensure_npm_deps
step "building Steerer"
npx tsc -b
cluster_was_up=false
[ -f "$LOCAL_DIR/cluster.env" ] && KUBECONFIG="$LOCAL_DIR/kubeconfig" PATH="$(tools_path):$PATH" \
  kubectl get --raw /readyz >/dev/null 2>&1 && cluster_was_up=true
step "local cluster (the first run builds Kubernetes, etcd, kwok and helm from source: several minutes)"
bash "$HACK_DIR/cluster-up.sh" >/dev/null
rc=0
node test/dist/demo/main.js "$@" || rc=$?
if ! $keep && ! $cluster_was_up; then bash "$HACK_DIR/cluster-down.sh" >/dev/null 2>&1 || true; fi
exit $rc
