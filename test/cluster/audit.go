package cluster

import "os"

// auditPolicy records write requests at the Metadata level (user, user agent, verb,
// object, response code; never a request body, so no Secret data) and nothing else: reads
// and watches would make the log large and the apiserver slow.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: None
  verbs: [get, list, watch]
- level: Metadata
`

func writeAuditPolicy(path string) error {
	return os.WriteFile(path, []byte(auditPolicy), 0o644)
}

// AuditLog is the path of the apiserver's audit log (JSON lines of audit.k8s.io/v1
// Events) when Options.AuditWrites is set. A restarted apiserver appends to it.
func (c *Cluster) AuditLog() string { return c.path("logs", "audit.log") }

func (c *Cluster) auditFlags() []string {
	if !c.opts.AuditWrites {
		return nil
	}
	return []string{"--audit-policy-file=" + c.path("audit-policy.yaml"), "--audit-log-path=" + c.AuditLog(),
		"--audit-log-format=json", "--audit-log-maxbackup=1", "--audit-log-maxsize=1024"}
}
