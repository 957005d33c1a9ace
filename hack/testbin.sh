#!/usr/bin/env bash
# Builds the binaries the tests run (kube-apiserver, kube-controller-manager, kube-scheduler,
# etcd, kwok, kustomize, helm, the OCI registry, Gitea) from the pinned Go modules under
# test/tools into a cache outside the repository, $LANDFALL_TESTBIN.
#
# Each tool is built once per version: a stamp beside the binaries holds the hash of its
# module's go.mod and go.sum, of how it is built and of the Go version; a tool whose stamp
# matches and whose binaries are there is not built again, and one whose pins changed is.
#
# The tools are built as `go test` builds the packages they share with Landfall (the go
# command's cgo default, no -trimpath; -ldflags change only the link), and hack/align-tools.sh
# keeps the big ones at Landfall's versions of the modules they share: client-go, Helm and
# Kustomize are then compiled once for both, from the same build cache.
#
# -no-gitea leaves Gitea out: make test builds it in a lane of its own (hack/test.sh).
#
# A new tool: a module test/tools/NAME pinning it, and one line `tool NAME "BINARIES" ARGS…`
# below (ARGS as for go build, run in test/tools/NAME, writing into the directory given by -o).
set -euo pipefail

K8S_VERSION=v1.37.2
OUT=${LANDFALL_TESTBIN:-$HOME/.cache/landfall/testbin/$K8S_VERSION}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$OUT/.stamps"

step() { printf '[testbin %s] %s\n' "$(date +%T)" "$*"; }

# tool NAME "BINARIES" GO-BUILD-ARGS…: builds BINARIES in test/tools/NAME into $OUT unless its
# stamp is current. The binaries are built beside $OUT and moved in: a test running the old
# one keeps it, and an interrupted build leaves no half-written binary.
tool() {
  local name=$1 bins=$2 dir=$ROOT/test/tools/$1
  shift 2
  local want
  want=$({ cat "$dir/go.mod" "$dir/go.sum"; echo "$bins $*"; go env GOVERSION GOFLAGS CGO_ENABLED; } | sha256sum | cut -c1-32)
  local have=true b
  for b in $bins; do [[ -x $OUT/$b ]] || have=false; done
  if $have && [[ -f $OUT/.stamps/$name && $(<"$OUT/.stamps/$name") == "$want" ]]; then
    return 0
  fi
  step "building $name ($bins)"
  local tmp o
  tmp=$(mktemp -d "$OUT/.build-$name.XXXXXX")
  o=$tmp/
  [[ $bins == *" "* ]] || o=$tmp/$bins # one binary: named as asked, not after its package
  (cd "$dir" && go build -o "$o" "$@") || { rm -rf "$tmp"; return 1; }
  for b in $bins; do mv -f "$tmp/$b" "$OUT/$b"; done
  rm -rf "$tmp"
  echo "$want" >"$OUT/.stamps/$name"
}

ldf="-s -w"
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldf+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=37"
  ldf+=" -X $p.gitTreeState=clean -X $p.buildDate=2026-10-27T00:00:00Z"
done
# The Kubernetes packages that only kube-controller-manager and kube-scheduler link (about 260,
# 230 s of compile; none shared with Landfall, which never imports k8s.io/kubernetes) are
# compiled without optimisation or inlining, as Gitea's are (hack/gitea.sh: a quarter faster
# there): their loops reconcile a few test objects.
# kube-apiserver, which serves every request of the tests, and every shared package keep the
# default flags.
# The list is kept beside the stamps, by the module's go.sum: listing takes seconds.
unopt=$OUT/.stamps/kubernetes-unoptimised-$(cat "$ROOT/test/tools/kubernetes/go."{mod,sum} | sha256sum | cut -c1-16)
if [[ ! -s $unopt ]]; then
  (cd "$ROOT/test/tools/kubernetes" &&
    comm -23 <(go list -deps k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler | sort -u) \
      <(go list -deps k8s.io/kubernetes/cmd/kube-apiserver | sort -u) | grep '^k8s.io/kubernetes/') >"$unopt.tmp"
  mv "$unopt.tmp" "$unopt"
fi
gcf=()
while read -r p; do gcf+=(-gcflags "$p=-N -l"); done <"$unopt"
tool kubernetes "kube-apiserver kube-controller-manager kube-scheduler" "${gcf[@]}" -ldflags "$ldf" \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler
tool etcd "etcd" -ldflags "-s -w" .
tool kwok "kwok" -ldflags "-s -w" sigs.k8s.io/kwok/cmd/kwok
tool parity "kustomize helm" -ldflags "-s -w" sigs.k8s.io/kustomize/kustomize/v5 helm.sh/helm/v3/cmd/helm
# The registry links only the filesystem storage driver and htpasswd auth (main.go), not the
# cloud drivers of distribution's own command: a fraction of the cold build.
tool distribution "registry" -ldflags "-s -w" .

if [[ ! -s "$OUT/kwok-stages/pod-delete.yaml" ]]; then
  step "copying kwok's node and pod stages"
  src=$(cd "$ROOT/test/tools/kwok" && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)/kustomize/stage
  mkdir -p "$OUT/kwok-stages"
  cp "$src/node/fast/node-initialize.yaml" "$src/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml" \
    "$src/pod/fast/pod-complete.yaml" "$src/pod/fast/pod-delete.yaml" "$OUT/kwok-stages/"
  chmod 644 "$OUT/kwok-stages/"*
fi
[[ ${1:-} == -no-gitea ]] || bash "$ROOT/hack/gitea.sh"
step "testbin ready in $OUT"
