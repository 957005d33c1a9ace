#!/usr/bin/env bash
# Builds Gitea, the Git forge of the forge tests (test/forge), from its pinned module under
# test/tools/gitea into the testbin cache, once per version. It is built without the bindata
# tag and without front-end assets: the API and Git need none. Such a build reads its templates
# and options (licences, .gitignore files, locales) from disk, so they are copied beside it.
set -euo pipefail

K8S_VERSION=v1.37.2
OUT=${LANDFALL_TESTBIN:-$HOME/.cache/landfall/testbin/$K8S_VERSION}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# Keep in step with test/tools/gitea/go.mod and test/forge (GiteaVersion).
GITEA_VERSION=v1.27.3
DIR="$OUT/gitea-$GITEA_VERSION"
export CGO_ENABLED=0 GOFLAGS=-mod=mod

[[ -x "$DIR/gitea" && -d "$DIR/options" && -d "$DIR/templates" ]] && exit 0
printf '[testbin %s] %s\n' "$(date +%T)" "building Gitea $GITEA_VERSION (cold: about 4 min on 2 cores, warm: about 20 s)"
mkdir -p "$DIR"
cd "$ROOT/test/tools/gitea"
go build -trimpath -ldflags "-s -w -X main.Version=${GITEA_VERSION#v}" -o "$DIR/gitea.tmp" gitea.dev
src=$(go list -m -f '{{.Dir}}' gitea.dev)
rm -rf "$DIR/options" "$DIR/templates"
cp -r "$src/options" "$src/templates" "$DIR/"
chmod -R u+w "$DIR/options" "$DIR/templates"
mv "$DIR/gitea.tmp" "$DIR/gitea"
