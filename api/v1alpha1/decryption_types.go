package v1alpha1

// Decryption says how the SOPS-encrypted files of a checkout are opened: Secret manifests,
// Kustomize generator sources and Helm values files. They are decrypted in memory while
// rendering; without it an encrypted file fails the render (DecryptionFailed).
type Decryption struct {
	// Provider is the encryption format; only "sops" (with age keys).
	// +kubebuilder:validation:Enum=sops
	// +kubebuilder:default=sops
	// +optional
	Provider string `json:"provider,omitempty"`

	// SecretRef names a Secret in the Application's namespace whose keys ending in
	// ".agekey" hold age identities (AGE-SECRET-KEY-1…), one or more a key. It is read with
	// the Application's ServiceAccount when it has one. During a key rotation it holds the
	// old and the new key.
	SecretRef LocalObjectReference `json:"secretRef"`
}

// ReasonDecryptionFailed: a SOPS-encrypted file could not be opened (no decryption Secret,
// keys that do not open it, a file changed after it was encrypted); the message names the
// file and why, never a value. Nothing is applied.
const ReasonDecryptionFailed = "DecryptionFailed"
