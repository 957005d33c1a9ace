#!/usr/bin/env bash
# Builds the control-plane binaries the tests use (kube-apiserver, kube-controller-manager,
# kube-scheduler, kubectl, etcd, kwok, helm,
# kustomize, the OCI registry, and Gitea) from the pinned Go modules under test/tools into a
# cache outside the repository. A binary already in the cache is not built again.
set -euo pipefail

K8S_VERSION=v1.37.2
OUT=${LANDFALL_TESTBIN:-$HOME/.cache/landfall/testbin/$K8S_VERSION}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$OUT"

# The same CGO setting for every build keeps the shared Go build cache warm.
export CGO_ENABLED=0 GOFLAGS=-mod=mod

step() { printf '[testbin %s] %s\n' "$(date +%T)" "$*"; }
have() { for b in "$@"; do [[ -x "$OUT/$b" ]] || return 1; done; }

if ! have kube-apiserver kube-controller-manager kube-scheduler kubectl; then
  step "building Kubernetes $K8S_VERSION (cold: ~13 min, warm: ~30 s)"
  ldf="-s -w"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldf+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=37"
    ldf+=" -X $p.gitTreeState=clean -X $p.buildDate=2026-10-27T00:00:00Z"
  done
  (cd "$ROOT/test/tools/kubernetes" && go build -trimpath -ldflags "$ldf" -o "$OUT/" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl)
fi
if ! have etcd; then
  step "building etcd"
  (cd "$ROOT/test/tools/etcd" && go build -trimpath -ldflags "-s -w" -o "$OUT/etcd" .)
fi
if ! have kwok; then
  step "building kwok"
  (cd "$ROOT/test/tools/kwok" && go build -trimpath -ldflags "-s -w" -o "$OUT/kwok" sigs.k8s.io/kwok/cmd/kwok)
fi
if [[ ! -s "$OUT/kwok-stages/pod-delete.yaml" ]]; then
  step "copying kwok's node and pod stages"
  src=$(cd "$ROOT/test/tools/kwok" && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)/kustomize/stage
  mkdir -p "$OUT/kwok-stages"
  cp "$src/node/fast/node-initialize.yaml" "$src/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml" \
    "$src/pod/fast/pod-complete.yaml" "$src/pod/fast/pod-delete.yaml" "$OUT/kwok-stages/"
  chmod 644 "$OUT/kwok-stages/"*
fi
if ! have kustomize helm; then
  step "building kustomize and helm (render parity)"
  (cd "$ROOT/test/tools/parity" && go build -trimpath -ldflags "-s -w" -o "$OUT/" \
    sigs.k8s.io/kustomize/kustomize/v5 helm.sh/helm/v3/cmd/helm)
fi
if ! have registry; then
  # The registry links only the filesystem storage driver and htpasswd auth (main.go), not
  # the cloud drivers of distribution's own command: a fraction of the cold build.
  step "building the OCI registry (distribution)"
  (cd "$ROOT/test/tools/distribution" && go build -trimpath -ldflags "-s -w" -o "$OUT/registry" .)
fi
bash "$ROOT/hack/gitea.sh"
step "testbin ready in $OUT"
