package v1alpha1

// ValuesReference takes Helm values from a key of a ConfigMap or Secret in the Application's
// namespace (Flux's valuesFrom). The values merge after the values files and before the
// inline values: chart defaults < valuesFiles < valuesFrom, in order < values. The object
// is read with the Application's ServiceAccount when it has one; a change of it renders the
// environment again and applies what differs. Values from a Secret are masked like
// decrypted ones: never in status, Events, logs or diffs.
type ValuesReference struct {
	// Kind of the object: ConfigMap or Secret.
	// +kubebuilder:validation:Enum=ConfigMap;Secret
	Kind string `json:"kind"`

	// Name of the object, in the Application's namespace.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// ValuesKey is the key that holds the values: a YAML map, unless targetPath is set;
	// "values.yaml" when unset.
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	// +optional
	ValuesKey string `json:"valuesKey,omitempty"`

	// TargetPath places the key's whole content, as one string, at this dotted path of the
	// values ("db.password") instead of reading it as a YAML map.
	// +kubebuilder:validation:MaxLength=250
	// +kubebuilder:validation:Pattern=`^[a-zA-Z0-9_-]+(\.[a-zA-Z0-9_-]+)*$`
	// +optional
	TargetPath string `json:"targetPath,omitempty"`

	// Optional: a missing object or key is skipped instead of failing the render.
	// +optional
	Optional bool `json:"optional,omitempty"`
}

// ReasonValuesFromFailed: an object or key that valuesFrom names is missing (and not
// optional), cannot be read with the Application's rights, or does not hold a YAML map.
// Nothing is applied; the last good revision keeps running.
const ReasonValuesFromFailed = "ValuesFromFailed"
