package cluster

import (
	"os"
	"strconv"
	"strings"
)

// auditPolicy records write requests at the Metadata level (user, user agent, verb,
// object, response code; never a request body, so no Secret data) and nothing else: reads
// and watches would make the log large and the apiserver slow. The reads of the users in
// readers are recorded too, so a benchmark can count every request of one client.
func auditPolicy(readers []string) string {
	var s strings.Builder
	s.WriteString("apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\nrules:\n")
	if len(readers) > 0 {
		quoted := make([]string, len(readers))
		for i, u := range readers {
			quoted[i] = strconv.Quote(u)
		}
		s.WriteString("- level: Metadata\n  users: [" + strings.Join(quoted, ", ") + "]\n")
	}
	s.WriteString("- level: None\n  verbs: [get, list, watch]\n- level: Metadata\n")
	return s.String()
}

func writeAuditPolicy(path string, readers []string) error {
	return os.WriteFile(path, []byte(auditPolicy(readers)), 0o644)
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
