#!/usr/bin/env bash
# make test: every check and test, ordered so that a cold run keeps both cores busy.
#
# Cold, almost all of the time is compiling, and a single go build leaves cores idle while it
# waits on a module download, a link or the one package everything else imports. So the work
# that needs nothing but Go runs in a second lane from the start: the lint tools, Gitea (the
# longest testbin build after Kubernetes), then the race-instrumented compile of RACE_PACKAGES.
# The first lane installs the system packages, builds the other test binaries, and runs verify
# and lint. The tests start when both lanes are done; the race tests then run beside the main
# pass instead of after it.
#
# go test runs without its vet step (-vet=off): golangci-lint's govet runs go vet's analyzers
# on the same packages and their tests, and go test's vet would analyse every dependency
# again, once per pass.
#
# Each phase prints its wall and CPU time, so a slow run says where its time went.
set -euo pipefail
cd "$(dirname "$0")/.."

: "${RACE_PACKAGES:?}" "${RACE_ONLY:?}" "${SLOW_PACKAGES:?}"
TEST_PARALLEL=${TEST_PARALLEL:-2}
TEST_PARALLEL_TESTS=${TEST_PARALLEL_TESTS:-6}
RACE_PARALLEL=${RACE_PARALLEL:-2}
TEST_TIMEOUT=${TEST_TIMEOUT:-40m}
TEST_LDFLAGS=${TEST_LDFLAGS:--w}
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

# Lane two. Its output is shown when it is waited for.
lane2() {
  phase "lint tools" "$MAKE" --no-print-directory tools &&
    phase gitea bash hack/gitea.sh &&
    phase "race compile" go build -race $RACE_PACKAGES
}
set -m # each background job in its own process group, so cleanup stops all it started
lane2 >"$logs/lane2" 2>&1 &
lane2_pid=$!
pids+=("$lane2_pid")
set +m

rc=0
phase deps bash hack/install-test-deps.sh || rc=1
((rc == 0)) && { phase testbin bash hack/testbin.sh -no-gitea || rc=1; }
((rc == 0)) && { phase verify "$MAKE" --no-print-directory verify || rc=1; }
((rc == 0)) && { phase lint "$MAKE" --no-print-directory lint || rc=1; }
wait "$lane2_pid" || rc=1
echo "--- lane two:"
cat "$logs/lane2"
((rc == 0)) || exit 1

flags=(-vet=off -parallel "$TEST_PARALLEL_TESTS" -timeout "$TEST_TIMEOUT" -count=1 -ldflags="$TEST_LDFLAGS")
echo "go test -race -p $RACE_PARALLEL $RACE_PACKAGES (alongside; its output follows the first pass)"
set -m
phase "race tests" go test -race -p "$RACE_PARALLEL" "${flags[@]}" $GO_TEST_FLAGS $RACE_PACKAGES >"$logs/race" 2>&1 &
race_pid=$!
pids+=("$race_pid")
set +m

# The slow packages first: go test starts test binaries in the order given, and none of them
# should start last and make the tail of the run.
pkgs=$({ go list $SLOW_PACKAGES; go list ./...; } | awk '!seen[$0]++' | grep -vxF -f <(go list $RACE_ONLY))
echo "go test -p $TEST_PARALLEL $SLOW_PACKAGES ./... (without $RACE_ONLY)"
phase "tests" go test -p "$TEST_PARALLEL" "${flags[@]}" $GO_TEST_FLAGS $pkgs || rc=1
wait "$race_pid" || rc=1
echo "--- go test -race:"
cat "$logs/race"
exit "$rc"
