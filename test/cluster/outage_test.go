package cluster_test

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/landfall-dev/landfall/test/cluster"
)

// TestUsersAuditAndOutage proves the harness's extras: a kubeconfig with embedded
// credentials for a user of its own, an audit log naming that user's writes, and an
// apiserver that can be killed and started again with its data kept.
func TestUsersAuditAndOutage(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	startCtx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	c, err := cluster.Start(startCtx, cluster.Options{Name: "outage", Dir: t.TempDir(), AuditWrites: true, Log: t.Logf})
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(c.Stop)

	kc, err := c.UserKubeconfig("someone", "system:masters")
	g.Expect(err).NotTo(HaveOccurred())
	parsed, err := clientcmd.Load(kc)
	g.Expect(err).NotTo(HaveOccurred())
	for _, u := range parsed.AuthInfos {
		g.Expect(u.ClientCertificate).To(BeEmpty(), "embedded, not a file")
		g.Expect(u.ClientCertificateData).NotTo(BeEmpty())
	}
	cfg, err := clientcmd.RESTConfigFromKubeConfig(kc)
	g.Expect(err).NotTo(HaveOccurred())
	cs := kubernetes.NewForConfigOrDie(cfg)
	review, err := cs.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(review.Status.UserInfo.Username).To(Equal("someone"))

	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "kept"}, Data: map[string]string{"k": "v"}}
	_, err = cs.CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(auditedWrites(t, c.AuditLog(), "someone")).To(ContainElement("create configmaps/kept"))

	g.Expect(c.StopAPIServer()).To(Succeed())
	_, err = cs.CoreV1().ConfigMaps("default").Get(ctx, "kept", metav1.GetOptions{})
	g.Expect(err).To(HaveOccurred(), "the apiserver is down")
	g.Expect(c.StartAPIServer(startCtx)).To(Succeed())
	got, err := cs.CoreV1().ConfigMaps("default").Get(ctx, "kept", metav1.GetOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(got.Data).To(HaveKeyWithValue("k", "v"), "etcd kept the data across the outage")
}

// auditedWrites returns "verb resource/name" for each write by user in the audit log.
func auditedWrites(t *testing.T, path, user string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var ev struct {
			Verb      string                          `json:"verb"`
			User      struct{ Username string }       `json:"user"`
			ObjectRef struct{ Resource, Name string } `json:"objectRef"`
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.User.Username == user {
			out = append(out, ev.Verb+" "+ev.ObjectRef.Resource+"/"+ev.ObjectRef.Name)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
