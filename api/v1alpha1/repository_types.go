package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// RepositorySpec says where configuration lives and how to fetch it.
// +kubebuilder:validation:XValidation:rule="!has(self.interval) || duration(self.interval) >= duration('1s')",message="interval must be at least 1s"
// +kubebuilder:validation:XValidation:rule="!has(self.timeout) || duration(self.timeout) >= duration('1s')",message="timeout must be at least 1s"
// +kubebuilder:validation:XValidation:rule="!has(self.chart) || has(self.ref.tag) || has(self.ref.semver)",message="a chart's ref is a version (tag) or a semver range (semver)"
// +kubebuilder:validation:XValidation:rule="!has(self.chart) || self.url.startsWith('https://') || self.url.startsWith('http://') || self.url.startsWith('oci://')",message="a chart repository URL is https:// (its index.yaml) or oci://"
// +kubebuilder:validation:XValidation:rule="!self.url.startsWith('oci://') || has(self.chart) || has(self.ref.tag) || has(self.ref.semver) || has(self.ref.digest)",message="an OCI artifact's ref is a tag, a semver range or a digest"
// +kubebuilder:validation:XValidation:rule="!has(self.ref.digest) || (self.url.startsWith('oci://') && !has(self.chart))",message="ref.digest pins an OCI artifact (oci:// without chart)"
// +kubebuilder:validation:XValidation:rule="!(has(self.chart) || self.url.startsWith('oci://')) || !has(self.verify)",message="verify applies to Git commits, not charts or OCI artifacts (they are verified by their digest)"
type RepositorySpec struct {
	// URL of the Git repository: https://…, ssh://… or user@host:path. http:// needs insecure.
	// With chart set, a Helm chart repository (https://…, serving index.yaml) or an OCI
	// registry path (oci://host/path, the chart being oci://host/path/<chart>). oci://
	// without chart is an OCI artifact of configuration (manifests or a Kustomize tree, as
	// `landfall push artifact` packages a folder): its ref is a tag, a semver range over
	// tags or a manifest digest, and its revision <tag>@sha256:<manifest digest>.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:Pattern=`^(https?://|ssh://|oci://|[A-Za-z0-9._~-]+@[A-Za-z0-9.-]+:)[^\s]+$`
	URL string `json:"url"`

	// Chart makes this Repository a Helm chart source: the name of the chart in the chart
	// repository or registry at url. Its ref.tag is an exact chart version, its ref.semver
	// a range (the highest matching version wins, and a newer one is a new revision). The
	// revision is <version>@sha256:<digest of the archive>: the archive must have the
	// digest its index (or the registry's manifest) gives. Dependencies the chart does not
	// vendor are fetched from the same host. Applications render it from the cache.
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9][A-Za-z0-9._-]*$`
	// +optional
	Chart string `json:"chart,omitempty"`

	// Ref selects the revision: exactly one of branch, tag, semver, commit or name. For a
	// chart, tag (a version) or semver (a range).
	Ref GitRef `json:"ref"`

	// Interval between polls. Webhooks make a fetch immediate.
	// +kubebuilder:default="1m"
	// +optional
	Interval *metav1.Duration `json:"interval,omitempty"`

	// Timeout of one fetch.
	// +kubebuilder:default="1m"
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// SecretRef names a Secret with credentials: username and password, bearerToken, or
	// identity (an SSH private key) and known_hosts; optionally caFile for HTTPS.
	// +optional
	SecretRef *LocalObjectReference `json:"secretRef,omitempty"`

	// WebhookSecretRef names a Secret whose key "token" verifies push webhooks. Without it
	// webhooks for this Repository are refused.
	// +optional
	WebhookSecretRef *LocalObjectReference `json:"webhookSecretRef,omitempty"`

	// Insecure allows plain http:// URLs.
	// +optional
	Insecure bool `json:"insecure,omitempty"`

	// Suspend stops polling; the last fetched revision stays.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// RewindPolicy decides what happens when the ref moves to a commit that does not
	// descend from the current revision (a force-push that rewinds a branch, a moved tag).
	// Refuse (the default) keeps the current revision, with Ready=False reason
	// RevisionRegressed naming both commits; Allow takes the new commit; AllowTags takes
	// it when the ref is a tag or a semver range and refuses it for branches and names.
	// Every rewind is reported with a Warning Event, and Applications record it in their
	// history. Pinned commits and ref changes in the spec are the user's choice, never
	// rewinds.
	// +kubebuilder:default=Refuse
	// +optional
	RewindPolicy RewindPolicy `json:"rewindPolicy,omitempty"`

	// Verify requires the commit of every new revision to be signed by a trusted key, and,
	// when the ref is followed through an annotated tag, the tag too: both must verify (a
	// lightweight tag has no signature; its commit must). An unsigned or wrongly signed
	// commit or tag is refused with Ready=False reason SignatureVerificationFailed naming
	// it and why; the current revision stays.
	// +optional
	Verify *CommitVerification `json:"verify,omitempty"`
}

// CommitVerification names the keys a Repository's commits and tags must be signed with.
type CommitVerification struct {
	// SecretRef names a Secret in the Repository's namespace whose values are trusted
	// public keys: armoured OpenPGP public keys, or SSH public keys in authorized_keys
	// format, one a line. Edit the Secret to rotate keys: each new revision is checked
	// against the keys it holds then.
	SecretRef LocalObjectReference `json:"secretRef"`
}

// RewindPolicy says whether a Repository takes a commit that does not descend from its
// current revision.
// +kubebuilder:validation:Enum=Refuse;Allow;AllowTags
type RewindPolicy string

// Rewind policies.
const (
	RewindRefuse    RewindPolicy = "Refuse"
	RewindAllow     RewindPolicy = "Allow"
	RewindAllowTags RewindPolicy = "AllowTags"
)

// GitRef selects a revision of a Git repository.
// +kubebuilder:validation:XValidation:rule="[has(self.branch), has(self.tag), has(self.semver), has(self.commit), has(self.name), has(self.digest)].filter(x, x).size() == 1",message="exactly one of branch, tag, semver or commit must be set (or name, a full ref such as refs/pull/1/head; or digest, for an OCI artifact)"
type GitRef struct {
	// Branch to follow.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	// +optional
	Branch string `json:"branch,omitempty"`
	// Tag to pin.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	// +optional
	Tag string `json:"tag,omitempty"`
	// SemVer range over tags; the highest matching tag wins.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	// +optional
	SemVer string `json:"semver,omitempty"`
	// Commit to pin: a full 40-character SHA-1.
	// +kubebuilder:validation:Pattern=`^[0-9a-f]{40}$`
	// +optional
	Commit string `json:"commit,omitempty"`
	// Name follows any ref by its full name, such as refs/pull/1/head or
	// refs/merge-requests/1/head (Previews use it for their pull requests).
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:Pattern=`^refs/[^\s]+$`
	// +optional
	Name string `json:"name,omitempty"`
	// Digest pins an OCI artifact's manifest: sha256:<64 hex>.
	// +kubebuilder:validation:Pattern=`^sha256:[0-9a-f]{64}$`
	// +optional
	Digest string `json:"digest,omitempty"`
}

// CommitInfo is what a person reads of a commit: its subject and its author's name, both
// bounded (longer ones are cut and end in "…"). Neither holds the e-mail address.
type CommitInfo struct {
	// Subject is the first line of the commit message, at most 72 characters.
	// +kubebuilder:validation:MaxLength=72
	// +optional
	Subject string `json:"subject,omitempty"`
	// Author is the name of the commit's author, at most 64 characters.
	// +kubebuilder:validation:MaxLength=64
	// +optional
	Author string `json:"author,omitempty"`
}

// RepositoryStatus is the observed state of a Repository.
type RepositoryStatus struct {
	// ObservedGeneration is the generation last reconciled successfully.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Revision is the resolved commit, as <ref>@sha1:<hash>; for a chart, the version and
	// its archive's digest, as <version>@sha256:<hex>.
	// +optional
	Revision string `json:"revision,omitempty"`
	// LastFetchedAt is when the current revision was fetched. Polls that find the remote
	// unchanged do not update it, so a quiet repository costs no apiserver writes.
	// +optional
	LastFetchedAt *metav1.Time `json:"lastFetchedAt,omitempty"`
	// Commit is the subject and author of the current revision's commit, as Git has them;
	// absent for charts and OCI artifacts.
	// +optional
	Commit *CommitInfo `json:"commit,omitempty"`
	// RewoundFrom is set when the current revision was taken although it does not descend
	// from the revision before it (allowed by rewindPolicy): it names that revision.
	// +optional
	RewoundFrom string `json:"rewoundFrom,omitempty"`
	// LastHandledReconcileAt is the last value of the reconcile-requested-at annotation handled.
	// +optional
	LastHandledReconcileAt string `json:"lastHandledReconcileAt,omitempty"`
	// Conditions: Ready, Reconciling, Stalled.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// Repository is a Git repository that Applications and Previews deploy from. One fetch serves
// every Application that uses it.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=lfrepo;lfrepos,categories=landfall
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Revision",type=string,JSONPath=`.status.revision`
// +kubebuilder:printcolumn:name="URL",type=string,JSONPath=`.spec.url`,priority=1
// +kubebuilder:printcolumn:name="Message",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Repository struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   RepositorySpec   `json:"spec"`
	Status RepositoryStatus `json:"status,omitempty"`
}

// GetConditions returns the conditions of the Repository.
func (r *Repository) GetConditions() []metav1.Condition { return r.Status.Conditions }

// SetConditions replaces the conditions of the Repository.
func (r *Repository) SetConditions(c []metav1.Condition) { r.Status.Conditions = c }

// +kubebuilder:object:root=true

// RepositoryList is a list of Repositories.
type RepositoryList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Repository `json:"items"`
}

// SetObservedGeneration records the generation the controller acted on.
func (r *Repository) SetObservedGeneration(g int64) { r.Status.ObservedGeneration = g }
