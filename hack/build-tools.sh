#!/usr/bin/env bash
# Builds the local cluster's parts from pinned Go modules (hack/tools/*) into a cache
# outside the repository, and installs Debian's prometheus if it is missing. A tool is
# cached only once its build finished: it is built into a temporary directory and moved
# into place, so an interrupted build is never mistaken for a finished one.
#
# Prints the directories to put on PATH, one per line, on stdout (everything else goes
# to stderr).
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"

need go "install Go >= 1.26 (https://go.dev/doc/install); it must be on PATH"
go_minor=$(go env GOVERSION | sed -E 's/^go1\.([0-9]+).*/\1/')
[ "${go_minor:-0}" -ge 26 ] || die "Go >= 1.26 is required, found $(go env GOVERSION)"
mkdir -p "$STEERER_CACHE_DIR/bin" "$STEERER_CACHE_DIR/logs"

k8s_minor=$(echo "$KUBERNETES_VERSION" | sed -E 's/^v1\.([0-9]+)\..*/\1/')
k8s_ldflags="-s -w"
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  k8s_ldflags+=" -X $p.gitVersion=$KUBERNETES_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$k8s_minor"
  k8s_ldflags+=" -X $p.gitTreeState=clean"
done
helm_ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
for p in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
  helm_ldflags+=" -X $p.k8sVersionMajor=1 -X $p.k8sVersionMinor=$k8s_minor"
done

# build NAME VERSION LDFLAGS PKG... : build the packages of hack/tools/NAME into the cache.
build() {
  local name="$1" version="$2" ldflags="$3"; shift 3
  local dir; dir=$(tool_dir "$name" "$version")
  if [ -f "$dir/.complete" ]; then
    info "$name $version: cached ($dir)"
    echo "$dir"
    return
  fi
  step "building $name $version (first time only; this can take many minutes)"
  local tmp="$dir.tmp.$$" log="$STEERER_CACHE_DIR/logs/build-$name.log"
  rm -rf "$tmp"; mkdir -p "$tmp"
  local start=$SECONDS
  (cd "$HACK_DIR/tools/$name" && CGO_ENABLED=0 run_logged "$log" \
    go build -trimpath -ldflags "$ldflags" -o "$tmp/" "$@")
  # The etcd server's main package is .../server/v3, which builds as "server".
  [ ! -e "$tmp/server" ] || mv "$tmp/server" "$tmp/etcd"
  touch "$tmp/.complete"
  rm -rf "$dir"; mv "$tmp" "$dir"
  info "$name $version: built in $((SECONDS - start))s"
  echo "$dir"
}

build etcd "$ETCD_VERSION" "-s -w" go.etcd.io/etcd/server/v3
build kwok "$KWOK_VERSION" "-s -w" sigs.k8s.io/kwok/cmd/kwok sigs.k8s.io/kwok/cmd/kwokctl
build helm "$HELM_VERSION" "$helm_ldflags" helm.sh/helm/v3/cmd/helm
build kubernetes "$KUBERNETES_VERSION" "$k8s_ldflags" \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl

if ! command -v prometheus >/dev/null 2>&1 && [ ! -x /usr/bin/prometheus ]; then
  step "installing Debian's prometheus package"
  need apt-get "Debian or Ubuntu with apt-get is required to install prometheus (or put a prometheus >= 2.40 binary on PATH)"
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  run_logged "$STEERER_CACHE_DIR/logs/apt-prometheus.log" $sudo_cmd env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends prometheus \
    || die "apt-get install prometheus failed"
  # The package starts its own service where systemd runs; ours runs separately.
  $sudo_cmd systemctl disable --now prometheus >/dev/null 2>&1 || true
fi
step "tools ready"
