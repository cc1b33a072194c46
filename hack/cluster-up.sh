#!/usr/bin/env bash
# Brings up Steerer's local environment: a kwok cluster from locally built binaries,
# the Istio and Gateway API CRDs, Prometheus on loopback and the mesh simulator.
# Idempotent: whatever already runs is left alone. Prints the exports to use it.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"

need node "install Node.js >= 20 (https://nodejs.org)"
need curl "install curl (apt-get install curl)"
start_all=$SECONDS
"$HACK_DIR/build-tools.sh" >/dev/null
export PATH="$(tools_path):$PATH"
mkdir -p "$LOCAL_DIR/logs"
export KWOK_WORKDIR="$LOCAL_DIR/kwok"
KUBECONFIG="$LOCAL_DIR/kubeconfig"
export KUBECONFIG

k8s_bin=$(tool_dir kubernetes "$KUBERNETES_VERSION")
cluster_ok() { kubectl get --raw /readyz >/dev/null 2>&1; }

# 1. The control plane.
if [ -d "$KWOK_WORKDIR/clusters/$CLUSTER_NAME" ] && cluster_ok; then
  info "cluster $CLUSTER_NAME: already running"
else
  if [ -d "$KWOK_WORKDIR/clusters/$CLUSTER_NAME" ]; then
    step "restarting cluster $CLUSTER_NAME"
    run_logged "$LOCAL_DIR/logs/kwokctl.log" kwokctl --name "$CLUSTER_NAME" start cluster --timeout 2m
  else
    # --disable-qps-limits: kube-controller-manager's default 20 requests/s would make
    # creating a thousand Deployments (the scale benchmark) take many minutes.
    step "creating cluster $CLUSTER_NAME (kube-apiserver $KUBERNETES_VERSION, etcd $ETCD_VERSION, kwok $KWOK_VERSION)"
    run_logged "$LOCAL_DIR/logs/kwokctl.log" kwokctl create cluster --name "$CLUSTER_NAME" --runtime binary \
      --kube-apiserver-binary "$k8s_bin/kube-apiserver" \
      --kube-controller-manager-binary "$k8s_bin/kube-controller-manager" \
      --kube-scheduler-binary "$k8s_bin/kube-scheduler" \
      --kwok-controller-binary "$(tool_dir kwok "$KWOK_VERSION")/kwok" \
      --etcd-binary "$(tool_dir etcd "$ETCD_VERSION")/etcd" \
      --disable-qps-limits --kubeconfig "$KUBECONFIG" --wait 2m
  fi
  wait_for 60 "the API server" cluster_ok
fi
if [ "$(kubectl get nodes --no-headers 2>/dev/null | wc -l)" -lt 3 ]; then
  step "adding 3 fake nodes"
  run_logged "$LOCAL_DIR/logs/kwokctl.log" kwokctl --name "$CLUSTER_NAME" scale node --replicas 3
fi

# 2. CRDs of the mesh (Istio networking, Gateway API), from their pinned Go modules.
if ! kubectl get crd virtualservices.networking.istio.io httproutes.gateway.networking.k8s.io >/dev/null 2>&1; then
  step "installing Istio $ISTIO_API_VERSION and Gateway API $GATEWAY_API_VERSION CRDs"
  istio_dir=$(go_module_dir "istio.io/api@$ISTIO_API_VERSION")
  gw_dir=$(go_module_dir "sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION")
  [ -n "$istio_dir" ] && [ -n "$gw_dir" ] || die "could not download the CRD modules (see go mod download errors above)"
  run_logged "$LOCAL_DIR/logs/crds.log" kubectl apply --server-side -f "$istio_dir/kubernetes/customresourcedefinitions.gen.yaml"
  run_logged "$LOCAL_DIR/logs/crds.log" kubectl apply --server-side -f "$gw_dir/config/crd/standard/"
fi
wait_for 60 "the VirtualService CRD" kubectl wait --for condition=established --timeout=1s crd/virtualservices.networking.istio.io
wait_for 60 "the HTTPRoute CRD" kubectl wait --for condition=established --timeout=1s crd/httproutes.gateway.networking.k8s.io

# 3. The mesh simulator (built from test/).
if alive "$LOCAL_DIR/mesh.pid" "mesh/main.js"; then
  info "mesh simulator: already running"
else
  step "starting the mesh simulator"
  (cd "$REPO_ROOT" && [ -d node_modules ] || run_logged "$LOCAL_DIR/logs/npm-install.log" npm ci --no-audit --no-fund)
  (cd "$REPO_ROOT" && run_logged "$LOCAL_DIR/logs/tsc-test.log" npx tsc -b test)
  rm -f "$LOCAL_DIR/mesh.json"
  # Objects labelled mesh.steerer.io/simulate=false stay outside the simulated mesh (the
  # scale benchmark's thousands of idle apps without pods); every other object is read.
  nohup node "$REPO_ROOT/test/dist/mesh/main.js" --kubeconfig "$KUBECONFIG" --host 127.0.0.1 \
    --label-selector 'mesh.steerer.io/simulate!=false' \
    --state-file "$LOCAL_DIR/mesh.json" >"$LOCAL_DIR/logs/mesh.log" 2>&1 &
  echo $! >"$LOCAL_DIR/mesh.pid"
  wait_for 30 "the mesh simulator (log: $LOCAL_DIR/logs/mesh.log)" test -s "$LOCAL_DIR/mesh.json"
fi
json_field() { node -e "process.stdout.write(String(JSON.parse(require('fs').readFileSync('$1','utf8'))['$2']))"; }
MESH_URL=$(json_field "$LOCAL_DIR/mesh.json" gatewayUrl)
MESH_ADMIN_URL=$(json_field "$LOCAL_DIR/mesh.json" metricsUrl)

# 4. Prometheus, scraping the mesh simulator every second.
prom_dir="$LOCAL_DIR/prometheus"
mkdir -p "$prom_dir/targets" "$prom_dir/targets-5s" "$prom_dir/data"
printf '[{"targets":["%s"],"labels":{"job":"mesh"}}]\n' "${MESH_ADMIN_URL#http://}" >"$prom_dir/targets/mesh.json.tmp"
mv "$prom_dir/targets/mesh.json.tmp" "$prom_dir/targets/mesh.json"
if alive "$LOCAL_DIR/prometheus.pid" "prometheus"; then
  info "prometheus: already running"
else
  step "starting prometheus"
  need prometheus "run hack/build-tools.sh (installs Debian's prometheus package)"
  cat >"$prom_dir/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: mesh
    file_sd_configs:
      - files: ['$prom_dir/targets/*.json']
        refresh_interval: 1s
  # Targets that need no 1 s resolution (the scale benchmark's own simulators).
  - job_name: mesh-5s
    scrape_interval: 5s
    scrape_timeout: 5s
    file_sd_configs:
      - files: ['$prom_dir/targets-5s/*.json']
        refresh_interval: 1s
YAML
  # Keep the port across restarts, so PROMETHEUS_URL stays valid for everything using it.
  port=$(cat "$prom_dir/port" 2>/dev/null || true)
  if [ -z "$port" ] || ! node -e "require('net').createServer().once('error',()=>process.exit(1)).listen($port,'127.0.0.1',function(){this.close()})"; then
    port=$(free_port)
  fi
  echo "$port" >"$prom_dir/port"
  nohup prometheus --config.file="$prom_dir/prometheus.yml" --storage.tsdb.path="$prom_dir/data" \
    --storage.tsdb.retention.time=6h --web.listen-address="127.0.0.1:$port" --web.enable-lifecycle \
    >"$LOCAL_DIR/logs/prometheus.log" 2>&1 &
  echo $! >"$LOCAL_DIR/prometheus.pid"
fi
PROMETHEUS_URL="http://127.0.0.1:$(cat "$prom_dir/port")"
wait_for 60 "prometheus (log: $LOCAL_DIR/logs/prometheus.log)" curl -sf "$PROMETHEUS_URL/-/ready"

cat >"$LOCAL_DIR/cluster.env" <<ENV
export KUBECONFIG=$KUBECONFIG
export PROMETHEUS_URL=$PROMETHEUS_URL
export MESH_URL=$MESH_URL
export MESH_ADMIN_URL=$MESH_ADMIN_URL
export PATH=$(tools_path):\$PATH
ENV
step "local cluster ready in $((SECONDS - start_all))s; to use it:"
cat "$LOCAL_DIR/cluster.env"
