// Package e2e proves "git push deploys" end to end: a full local cluster (test/cluster), a
// real Git server (test/gitserver) and the landfall binary running as a child process,
// driven only through the API, Git pushes and signed webhooks, as a user would. Its
// benchmarks measure push-to-applied latency, a large initial sync and the writes of an
// idle controller, each next to a raw server-side-apply baseline measured in the same run.
//
//	go test ./test/e2e/                                     # the tests
//	go test -run '^$' -bench . ./test/e2e/                  # the benchmarks
//	LANDFALL_BENCH_APPS=100 LANDFALL_BENCH_STEADY=10s \
//	    go test -run '^$' -bench Applications ./test/e2e/   # a smaller, shorter fleet
//
// The controller authenticates with a client certificate of its own (user
// "landfall-controller"), so the apiserver's audit log tells its writes from everyone
// else's. A failing test prints the controller's log lines of that test; the clusters' and
// the controller's files stay in the temporary folder the run names.
package e2e
