#!/usr/bin/env bash
# Stops and removes everything hack/cluster-up.sh started (by pid, nothing broader),
# keeping the binary cache.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"

export KWOK_WORKDIR="$LOCAL_DIR/kwok"
stop_pid "$LOCAL_DIR/mesh.pid" "mesh/main.js"
stop_pid "$LOCAL_DIR/prometheus.pid" "prometheus"
for f in "$LOCAL_DIR"/run/*.pid; do
  [ -e "$f" ] && stop_pid "$f" "node"
done
if [ -d "$KWOK_WORKDIR/clusters/$CLUSTER_NAME" ]; then
  step "deleting cluster $CLUSTER_NAME"
  PATH="$(tools_path):$PATH" kwokctl --name "$CLUSTER_NAME" delete cluster >/dev/null 2>&1 ||
    info "kwokctl delete failed; removing its directory"
fi
rm -rf "$LOCAL_DIR/kwok" "$LOCAL_DIR/prometheus" "$LOCAL_DIR/cluster.env" "$LOCAL_DIR/kubeconfig" "$LOCAL_DIR/mesh.json"
step "local cluster removed (binary cache kept in $STEERER_CACHE_DIR)"
