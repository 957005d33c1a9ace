// Package e2e proves "git push deploys" end to end: a full local cluster (test/cluster), a
// real Git server (test/gitserver) and the landfall binary running as a child process,
// driven only through the API, Git pushes and signed webhooks, as a user would. Its
// benchmarks measure push-to-applied latency, a large initial sync and the writes of an
// idle controller, each next to a raw server-side-apply baseline measured in the same run.
package e2e
