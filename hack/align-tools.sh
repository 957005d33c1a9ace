#!/usr/bin/env bash
# Raises the tool modules under test/tools that share most of their code with Landfall
# (Kubernetes, etcd, kwok, the kustomize and helm CLIs, the registry, controller-gen, Gitea) to
# the main module's version of every module both use, so that Go compiles each shared package
# (client-go, apimachinery, Helm, Kustomize…) once for `make testbin` and `go test` alike: a package is reused from the build cache only
# when it and all it imports are the same versions, built with the same flags.
#
# A tool's own pins (its go.mod's direct requirements) are left as they are, and a tool
# dependency that needs a newer version than Landfall's keeps it (minimal version selection).
# Run it after changing go.mod or a tool's version; `make verify` fails when it would change
# anything (check mode: hack/align-tools.sh -check).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TOOLS=(kubernetes kwok parity etcd distribution controller-gen gitea)
# `go mod tidy` cannot run for Gitea: it needs every module its tests import, and the proxy
# refuses one (gitee.com/travelliu/dm, 403). For it, go.sum is completed by loading the packages
# of the build instead (`go list -deps` of its main package).
declare -A BUILD_ONLY=([gitea]=gitea.dev)
check=false
[[ ${1:-} == -check ]] && check=true

cd "$ROOT"
main_versions=$(go list -m -f '{{if not .Main}}{{.Path}} {{.Version}}{{end}}' all)
rc=0
for t in "${TOOLS[@]}"; do
  dir=$ROOT/test/tools/$t
  tmp=$(mktemp -d)
  cp "$dir/go.mod" "$dir/go.sum" "$tmp/"
  # The tool's own pins, which alignment must not move, and the modules it uses.
  if [[ -n ${BUILD_ONLY[$t]:-} ]]; then
    own=$(cd "$dir" && awk '/^require \(/ {b = 1; next} b && /^\)/ {b = 0} b && !/\/\/ indirect/ {print $1} /^require [^(]/ && !/\/\/ indirect/ {print $2}' go.mod)
    used=$(cd "$dir" && GOFLAGS=-mod=mod go list -deps -f '{{with .Module}}{{if not .Main}}{{.Path}}{{end}}{{end}}' "${BUILD_ONLY[$t]}" | sort -u)
  else
    own=$(cd "$dir" && go list -mod=mod -m -f '{{if and (not .Main) (not .Indirect)}}{{.Path}}{{end}}' all)
    used=$(cd "$dir" && go list -mod=mod -m -f '{{if not .Main}}{{.Path}}{{end}}' all)
  fi
  args=()
  while read -r path version; do
    [[ -n $path ]] || continue
    grep -qxF "$path" <<<"$own" && continue
    grep -qxF "$path" <<<"$used" && args+=("-require=$path@$version")
  done <<<"$main_versions"
  if [[ -n ${BUILD_ONLY[$t]:-} ]]; then
    (cd "$dir" && go mod edit "${args[@]}" && GOFLAGS=-mod=mod go list -deps "${BUILD_ONLY[$t]}" >/dev/null)
  else
    (cd "$dir" && go mod edit "${args[@]}" && go mod tidy)
  fi
  if $check; then
    if ! diff -q "$tmp/go.mod" "$dir/go.mod" >/dev/null || ! diff -q "$tmp/go.sum" "$dir/go.sum" >/dev/null; then
      echo "test/tools/$t is not aligned with go.mod: run hack/align-tools.sh and commit" >&2
      diff -u "$tmp/go.mod" "$dir/go.mod" >&2 || true
      rc=1
    fi
    cp "$tmp/go.mod" "$tmp/go.sum" "$dir/"
  fi
  rm -rf "$tmp"
done
exit $rc
