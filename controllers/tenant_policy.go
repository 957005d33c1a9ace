package controllers

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/notify"
)

// errPolicyViolation marks what a TenantPolicy forbids: refused before anything is applied.
var errPolicyViolation = errors.New("forbidden by the tenant policy")

// tenants finds the TenantPolicies that confine a namespace.
type tenants struct {
	reader client.Reader
	// strict refuses everything in a namespace no policy selects; otherwise such a
	// namespace is unconfined (one team, or an install without tenants).
	strict bool
}

// tenant is what the policies selecting one namespace allow. With no policy it allows
// everything, unless the controller is strict.
type tenant struct {
	namespace string
	policies  []landfallv1.TenantPolicy
	strict    bool
}

// of returns the tenant of a namespace: every policy that selects it.
func (t *tenants) of(ctx context.Context, namespace string) (*tenant, error) {
	if t == nil || t.reader == nil {
		return &tenant{namespace: namespace}, nil
	}
	out := &tenant{namespace: namespace, strict: t.strict}
	list := &landfallv1.TenantPolicyList{}
	if err := t.reader.List(ctx, list); err != nil {
		return nil, fmt.Errorf("listing TenantPolicies: %w", err)
	}
	for _, p := range list.Items {
		if matchAny(p.Spec.Namespaces, namespace) {
			out.policies = append(out.policies, p)
		}
	}
	sort.Slice(out.policies, func(i, j int) bool { return out.policies[i].Name < out.policies[j].Name })
	return out, nil
}

// matchAny reports whether any pattern matches s; a bad pattern matches nothing.
func matchAny(patterns []string, s string) bool {
	for _, p := range patterns {
		if ok, err := path.Match(p, s); err == nil && ok {
			return true
		}
	}
	return false
}

// badPatterns names the patterns of a policy that path.Match cannot read.
func badPatterns(spec *landfallv1.TenantPolicySpec) []string {
	var bad []string
	for field, list := range map[string][]string{"namespaces": spec.Namespaces, "repositories": spec.Repositories,
		"clusters": spec.Clusters, "destinations": spec.Destinations} {
		for _, p := range list {
			if _, err := path.Match(p, ""); err != nil {
				bad = append(bad, fmt.Sprintf("%s: %q", field, p))
			}
		}
	}
	sort.Strings(bad)
	return bad
}

// each runs check against every policy and collects what they refuse, each named by its
// policy. Without a policy only a strict controller refuses.
func (t *tenant) each(check func(p *landfallv1.TenantPolicy) []string) error {
	if t == nil {
		return nil
	}
	if len(t.policies) == 0 {
		if t.strict {
			return fmt.Errorf("%w: no TenantPolicy selects namespace %s, and the controller requires one", errPolicyViolation, t.namespace)
		}
		return nil
	}
	var msgs []string
	for i := range t.policies {
		p := &t.policies[i]
		if bad := badPatterns(&p.Spec); len(bad) > 0 {
			msgs = append(msgs, fmt.Sprintf("TenantPolicy %s is invalid (%s): nothing is allowed until it is fixed", p.Name, strings.Join(bad, ", ")))
			continue
		}
		for _, m := range check(p) {
			msgs = append(msgs, m+" (TenantPolicy "+p.Name+")")
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	if len(msgs) > 20 {
		msgs = append(msgs[:20], fmt.Sprintf("and %d more", len(msgs)-20))
	}
	return fmt.Errorf("%w: %s", errPolicyViolation, strings.Join(msgs, "; "))
}

// checkRepository refuses a Repository URL outside the tenant's patterns.
func (t *tenant) checkRepository(url string) error {
	return t.each(func(p *landfallv1.TenantPolicy) []string {
		if matchAny(p.Spec.Repositories, url) {
			return nil
		}
		return []string{fmt.Sprintf("repository URL %s matches none of repositories %v", url, p.Spec.Repositories)}
	})
}

// policyClusterName is how a policy names an environment's cluster.
func policyClusterName(ref *landfallv1.ClusterRef) string {
	if ref == nil {
		return "local"
	}
	return ref.SecretRef.Name
}

// checkEnvironment refuses an environment whose cluster or namespace the tenant may not use.
func (t *tenant) checkEnvironment(env *landfallv1.Environment) error {
	return t.each(func(p *landfallv1.TenantPolicy) []string {
		var out []string
		clusters := p.Spec.Clusters
		if len(clusters) == 0 {
			clusters = []string{"local"}
		}
		if c := policyClusterName(env.Cluster); !matchAny(clusters, c) {
			out = append(out, fmt.Sprintf("environment %s: cluster %s matches none of clusters %v", env.Name, c, clusters))
		}
		if !matchAny(p.Spec.Destinations, env.Namespace) {
			out = append(out, fmt.Sprintf("environment %s: namespace %s matches none of destinations %v", env.Name, env.Namespace, p.Spec.Destinations))
		}
		return out
	})
}

// checkObjects refuses rendered objects the tenant may not deploy: into a namespace
// outside its destinations, of a denied kind, or cluster-scoped when that is not allowed.
// Rendered objects carry their namespace; a cluster-scoped one has none.
func (t *tenant) checkObjects(env *landfallv1.Environment, objs []*unstructured.Unstructured) error {
	return t.each(func(p *landfallv1.TenantPolicy) []string {
		var out []string
		for _, o := range objs {
			name := objectName(o)
			ns := o.GetNamespace()
			isNamespace := o.GroupVersionKind().Group == "" && o.GetKind() == "Namespace"
			switch {
			case deniedKind(p.Spec.DeniedKinds, o):
				out = append(out, name+": kind "+o.GetKind()+" is in deniedKinds")
			case ns != "" && !matchAny(p.Spec.Destinations, ns):
				out = append(out, fmt.Sprintf("%s: namespace %s matches none of destinations %v", name, ns, p.Spec.Destinations))
			case isNamespace && o.GetName() == env.Namespace:
				// The environment's own namespace, already checked against destinations.
			case ns == "" && !p.Spec.ClusterScoped:
				out = append(out, name+": cluster-scoped kinds are not allowed (clusterScoped is false)")
			}
		}
		return out
	})
}

func deniedKind(denied []string, o *unstructured.Unstructured) bool {
	gk := o.GroupVersionKind().GroupKind()
	return slices.Contains(denied, gk.Kind) || slices.Contains(denied, gk.String())
}

func objectName(o *unstructured.Unstructured) string {
	if o.GetNamespace() == "" {
		return o.GetKind() + "/" + o.GetName()
	}
	return o.GetKind() + "/" + o.GetNamespace() + "/" + o.GetName()
}

// namespaceLabels are the labels of a namespace Landfall creates for the tenant, merged
// from its policies in name order, and the first policy's name.
func (t *tenant) namespaceLabels() map[string]string {
	if t == nil || len(t.policies) == 0 {
		return nil
	}
	out := map[string]string{landfallv1.LabelTenant: t.policies[0].Name}
	for _, p := range t.policies {
		for k, v := range p.Spec.NamespaceLabels {
			out[k] = v
		}
	}
	return out
}

// checkTenant refuses an environment the Application's tenant may not use, or a
// Repository URL outside its patterns, before anything is rendered or applied.
func (r *ApplicationReconciler) checkTenant(ctx context.Context, ten *tenant, app *landfallv1.Application, env *landfallv1.Environment) error {
	repo := &landfallv1.Repository{}
	if err := r.Get(ctx, client.ObjectKey{Namespace: app.Namespace, Name: app.Spec.RepositoryRef.Name}, repo); err != nil {
		return client.IgnoreNotFound(err) // the checkout has said so already
	}
	return errors.Join(ten.checkRepository(repo.Spec.URL), ten.checkEnvironment(env))
}

// policyViolation stops an environment the tenant policy forbids: nothing is applied and
// nothing pruned; what runs stays. The user (or the platform team) must act.
func (r *ApplicationReconciler) policyViolation(app *landfallv1.Application, env string, st *landfallv1.EnvironmentStatus, err error) envOutcome {
	st.Message = err.Error()
	if st.Revision != st.DesiredRevision {
		st.Sync = landfallv1.SyncOutOfSync
	}
	r.Recorder.Eventf(app, nil, corev1.EventTypeWarning, landfallv1.ReasonPolicyViolation, "Sync", "environment %s: %s", env, err.Error())
	r.Notify.application(context.Background(), app, env, notify.PolicyViolation, st.DesiredRevision, err.Error())
	return failed(landfallv1.ReasonPolicyViolation, err, true)
}

func (s *envSync) policyViolation(err error) envOutcome {
	// What runs stays forbidden until Git or the policy changes: the next pass renders and
	// checks again, rather than reading a quiet cluster as a rollout waiting for health.
	s.r.Drift.markDirty(s.key)
	s.r.Drift.markUnhealed(s.key, true)
	return s.r.policyViolation(s.app, s.env.Name, s.st, err)
}

// checkTenant refuses a Repository whose URL its tenant may not read: nothing is fetched.
func (r *RepositoryReconciler) checkTenant(ctx context.Context, repo *landfallv1.Repository) error {
	ten, err := r.Tenants.of(ctx, repo.Namespace)
	if err != nil {
		return err
	}
	return ten.checkRepository(repo.Spec.URL)
}

// checkDependencies refuses a dependency on an Application in a namespace that a policy
// selecting the dependent's namespace does not select: one team may wait for its own
// Applications anywhere it lives, never read another team's. An unconfined namespace
// (no policy, not strict) may depend on any namespace.
func (t *tenant) checkDependencies(from string, nodes []depNode) error {
	return t.each(func(p *landfallv1.TenantPolicy) []string {
		var out []string
		for _, n := range nodes {
			if n.namespace != from && !matchAny(p.Spec.Namespaces, n.namespace) {
				out = append(out, fmt.Sprintf("dependsOn %s is in namespace %s, which matches none of namespaces %v", n.label(from), n.namespace, p.Spec.Namespaces))
			}
		}
		return out
	})
}
