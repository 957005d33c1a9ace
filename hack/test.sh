#!/usr/bin/env bash
# make test: every check and test, ordered so that a cold run keeps both cores busy.
#
# Cold, almost all of the time is compiling (about an hour of CPU on 2 cores), and a single go
# build leaves cores idle while it waits on a module download, a link or the one package
# everything else imports. So each job starts as soon as what it needs is done:
#
#   controller-gen → Gitea → race compile ────────────────────────────────┐
#   system packages → Kubernetes, etcd… → verify → test compile ─┬→ tests ┼→ race tests
#                                                                  ├→ tests without -race
#                                                                  └→ golangci-lint
#
# The tests mostly wait (for an apiserver, a rollout, a timeout), so the race tests and lint
# fill the cores they leave idle.
#
# go test runs without its vet step (-vet=off): golangci-lint's govet runs go vet's analyzers
# on the same packages and their tests, and go test's vet would analyse every dependency
# again, once per pass.
#
# Each phase prints its wall and CPU time, so a slow run says where its time went.
set -euo pipefail
cd "$(dirname "$0")/.."

: "${RACE_PACKAGES:?}" "${SLOW_PACKAGES:?}"
TEST_PARALLEL=${TEST_PARALLEL:-2}
TEST_PARALLEL_TESTS=${TEST_PARALLEL_TESTS:-6}
RACE_PARALLEL=${RACE_PARALLEL:-2}
TEST_TIMEOUT=${TEST_TIMEOUT:-40m}
TEST_LDFLAGS=${TEST_LDFLAGS:--s -w}
GO_TEST_FLAGS=${GO_TEST_FLAGS:-}
MAKE=${MAKE:-make}
export CI=true

logs=$(mktemp -d)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -- "-$p" 2>/dev/null || kill "$p" 2>/dev/null || true; done
  rm -rf "$logs"
}
trap cleanup EXIT

# phase NAME CMD…: runs CMD and prints how long it took, in wall and CPU seconds. It runs in a
# subshell of its own, whose children are CMD's alone: the main shell also reaps the lanes
# that run in the background, and their CPU would count in whichever phase was running.
phase() (
  name=$1
  shift
  start=$(date +%s)
  rc=0
  "$@" || rc=$?
  printf '[test %s] %s: %ss wall, %ss CPU (rc=%s)\n' "$(date +%T)" "$name" "$(($(date +%s) - start))" \
    "$(cpu_seconds)" "$rc"
  exit "$rc"
)

# cpu_seconds prints the user+sys seconds of the calling shell's waited-for children, from
# /proc: called as $(cpu_seconds) it runs in a subshell, where the times builtin would report
# the subshell's own children.
cpu_seconds() {
  local ppid
  read -r _ _ _ ppid _ <"/proc/$BASHPID/stat"
  awk -v hz="$(getconf CLK_TCK)" '{ printf "%.0f", ($16 + $17) / hz }' "/proc/$ppid/stat"
}

# Each job runs in the background, in a process group of its own (so cleanup stops all it
# started), with its output in a log shown when it is waited for. The main shell only starts
# jobs and waits on them, so each starts as soon as what it needs is done.
start() {
  local name=$1
  shift
  set -m
  "$@" >"$logs/$name" 2>&1 &
  pids+=("$!")
  eval "pid_${name//-/_}=$!"
  set +m
}
finish() {
  local name=$1 pid_var="pid_${1//-/_}" r=0
  wait "${!pid_var}" || r=$?
  cat "$logs/$name"
  return "$r"
}

# forge: controller-gen (verify needs it), then Gitea (the forge tests need it). It needs only
# Go, so it runs beside the system packages and the Kubernetes build.
forge() { phase controller-gen "$MAKE" --no-print-directory controller-gen && phase gitea bash hack/gitea.sh; }
start forge forge
testbins() { phase deps bash hack/install-test-deps.sh && phase testbin bash hack/testbin.sh -no-gitea; }
start testbin testbins
# The race packages, less those that link SOPS (package sopsfile): instrumented, the clients
# of every cloud key service the sops library links would be a third of the race compile's
# packages. They run in the first pass, as the other packages do.
race=$(go list -f '{{.ImportPath}} {{join .Deps " "}}' $RACE_PACKAGES | awk '!/ github.com\/getsops\/sops\/v3( |$)/ {print $1}')
finish forge || exit 1
# The race-instrumented compile of the race packages and their tests: about 1,400 packages, built
# once Gitea is. go list -export compiles every package it lists, without linking.
race_compile() { go list -race -export -test -deps $race >/dev/null; }
start race-compile phase "race compile" race_compile
finish testbin || exit 1
phase verify "$MAKE" --no-print-directory verify || exit 1

# The slow packages first: go test starts test binaries in the order given, and none of them
# should start last and make the tail of the run. The race packages run under -race; of them,
# the first pass runs none. A pass of their own, without -race, runs those of their tests that
# cannot run under it or need not: the memory-capped ones (named ...Bounded..., test/memcap),
# which the race detector cannot run, and those of files built only without it
# (//go:build !race: they link SOPS, for the reason above).
pkgs=$({ go list $SLOW_PACKAGES; go list ./...; } | awk '!seen[$0]++' | grep -vxF -f <(printf '%s\n' $race))
bounded=$(go list -f '{{.ImportPath}} {{join .TestImports " "}} {{join .XTestImports " "}}' $race |
  awk '/ github.com\/landfall-dev\/landfall\/test\/memcap( |$)/ {print $1}')
norace_files=$(go list -f '{{$d := .Dir}}{{range .TestGoFiles}}{{$d}}/{{.}} {{end}}{{range .XTestGoFiles}}{{$d}}/{{.}} {{end}}' $race |
  xargs -r grep -lx '//go:build !race' || true)
norace_pkgs=$(for f in $norace_files; do dirname "$f"; done | sort -u | xargs -r go list)
norace_tests=$(grep -ho '^func Test[A-Za-z0-9_]*' $norace_files /dev/null | cut -d' ' -f2 | paste -sd'|')
norace=$(printf '%s\n' $bounded $norace_pkgs | sort -u)
norace_run="Bounded${norace_tests:+|^($norace_tests)\$}"
# The tests' packages, compiled at full parallelism (go test -p 2 would compile two at a time
# between running tests), and the one landfall binary that test/e2e, test/chart and
# cmd/landfall run (each would link its own).
test_compile() { go list -export -test -deps $pkgs $norace >/dev/null; }
phase "test compile" test_compile || exit 1
phase "landfall binary" go build -ldflags="-s -w" -o "$logs/landfall" ./cmd/landfall || exit 1
export LANDFALL_TEST_BINARY=$logs/landfall
# golangci-lint (built, then run) beside the tests, which mostly wait. Not beside verify: its
# generate step rewrites the files golangci-lint would be reading.
start lint phase lint "$MAKE" --no-print-directory lint

flags=(-vet=off -parallel "$TEST_PARALLEL_TESTS" -timeout "$TEST_TIMEOUT" -count=1 -ldflags="$TEST_LDFLAGS")
echo "go test -p $TEST_PARALLEL $SLOW_PACKAGES ./... (without" $race")"
start tests phase tests go test -p "$TEST_PARALLEL" "${flags[@]}" $GO_TEST_FLAGS $pkgs
echo "go test -run '$norace_run'" $norace
start norace phase "tests without -race" go test -run "$norace_run" -p 1 "${flags[@]}" $GO_TEST_FLAGS $norace
rc=0
finish race-compile || rc=1
if ((rc == 0)); then
  echo "go test -race -p $RACE_PARALLEL" $race "(alongside)"
  start race phase "race tests" go test -race -p "$RACE_PARALLEL" "${flags[@]}" $GO_TEST_FLAGS $race
fi
echo "--- go test:"
finish tests || rc=1
echo "--- go test without -race:"
finish norace || rc=1
echo "--- golangci-lint:"
finish lint || rc=1
if [[ -n ${pid_race:-} ]]; then
  echo "--- go test -race:"
  finish race || rc=1
fi
exit "$rc"
