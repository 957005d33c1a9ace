#!/usr/bin/env bash
# Builds Gitea, the Git forge of the forge tests (test/forge), from its pinned module under
# test/tools/gitea into the testbin cache, once per version. It is built without the bindata
# tag and without front-end assets: the API and Git need none. Such a build reads its templates
# and options (licences, .gitignore files, locales) from disk, so they are copied beside it.
# It is built with the go command's defaults (cgo as go test has it, no -trimpath), as the
# other test binaries are, and its modules are aligned with Landfall's (hack/align-tools.sh): the
# standard library and the modules it shares with them are then compiled once for all (about
# 600 of its 1,480 packages, 360 of them outside the standard library).
set -euo pipefail

K8S_VERSION=v1.37.2
OUT=${LANDFALL_TESTBIN:-$HOME/.cache/landfall/testbin/$K8S_VERSION}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# Keep in step with test/tools/gitea/go.mod and test/forge (GiteaVersion).
GITEA_VERSION=v1.27.3
DIR="$OUT/gitea-$GITEA_VERSION"
export GOFLAGS=-mod=mod

# Gitea's own packages (about 370, a third of its compile time, shared with nothing) are
# compiled without optimisation or inlining, which compiles them a quarter faster; the forge
# tests ask a few API calls of it, so its speed does not matter. The packages it shares with
# the tests keep the default flags, so they still come from the build cache.
GCFLAGS="gitea.dev/...=-N -l"
# The build is stamped with its go.sum and flags: aligning its modules (hack/align-tools.sh)
# rebuilds it.
STAMP=$({ cat "$ROOT/test/tools/gitea/go.sum"; echo "$GCFLAGS"; } | sha256sum | cut -c1-12)
[[ -x "$DIR/gitea" && -d "$DIR/options" && -d "$DIR/templates" && $(cat "$DIR/stamp" 2>/dev/null) == "$STAMP" ]] && exit 0
printf '[testbin %s] %s\n' "$(date +%T)" "building Gitea $GITEA_VERSION (cold: 4 minutes alone on 2 cores, 8 beside the other builds of make test)"
mkdir -p "$DIR"
cd "$ROOT/test/tools/gitea"
go build -gcflags "$GCFLAGS" -ldflags "-s -w -X main.Version=${GITEA_VERSION#v}" -o "$DIR/gitea.tmp" gitea.dev
src=$(go list -m -f '{{.Dir}}' gitea.dev)
rm -rf "$DIR/options" "$DIR/templates"
cp -r "$src/options" "$src/templates" "$DIR/"
chmod -R u+w "$DIR/options" "$DIR/templates"
mv "$DIR/gitea.tmp" "$DIR/gitea"
echo "$STAMP" >"$DIR/stamp"
