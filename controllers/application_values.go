package controllers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/render"
)

// errValuesFrom: an object or key valuesFrom names is missing or unreadable.
var errValuesFrom = errors.New("valuesFrom")

// defaultValuesKey is the key valuesFrom reads when it names none, as Flux's does.
const defaultValuesKey = "values.yaml"

// namespaceReader reads objects of the Application's namespace as the Application may: as
// its ServiceAccount when it deploys as one, else with the controller's rights.
func (r *ApplicationReconciler) namespaceReader(ctx context.Context, app *landfallv1.Application) (client.Reader, error) {
	if r.Clusters.serviceAccountOf(app) == "" {
		return r.Secrets, nil
	}
	local, err := r.Clusters.forApplication(ctx, app, nil)
	if err != nil {
		return nil, err
	}
	return local.client, nil
}

// valuesFrom reads an environment's valuesFrom, in order, as the render's layers. The YAML is
// parsed in the render (within its bounds), not here; values from a Secret are Sensitive.
func (r *ApplicationReconciler) valuesFrom(ctx context.Context, app *landfallv1.Application, env *landfallv1.Environment) ([]render.ValuesSource, error) {
	if len(env.ValuesFrom) == 0 {
		return nil, nil
	}
	reader, err := r.namespaceReader(ctx, app)
	if err != nil {
		return nil, err
	}
	out := make([]render.ValuesSource, 0, len(env.ValuesFrom))
	for _, ref := range env.ValuesFrom {
		key := firstNonEmpty(ref.ValuesKey, defaultValuesKey)
		name := fmt.Sprintf("%s %s/%s key %s", ref.Kind, app.Namespace, ref.Name, key)
		data, err := readValuesKey(ctx, reader, ref.Kind, client.ObjectKey{Namespace: app.Namespace, Name: ref.Name}, key)
		if errors.Is(err, errNoValues) && ref.Optional {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", errValuesFrom, name, err)
		}
		if ref.TargetPath != "" {
			if data, err = atPath(ref.TargetPath, string(data)); err != nil {
				return nil, fmt.Errorf("%w: %s: %w", errValuesFrom, name, err)
			}
		}
		out = append(out, render.ValuesSource{Name: name, YAML: data, Sensitive: ref.Kind == "Secret"})
	}
	return out, nil
}

// errNoValues: the object or its key does not exist.
var errNoValues = errors.New("not found")

func readValuesKey(ctx context.Context, reader client.Reader, kind string, key client.ObjectKey, dataKey string) ([]byte, error) {
	var data []byte
	var ok bool
	var err error
	switch kind {
	case "Secret":
		sec := &corev1.Secret{}
		if err = reader.Get(ctx, key, sec); err == nil {
			data, ok = sec.Data[dataKey]
		}
	case "ConfigMap":
		cm := &corev1.ConfigMap{}
		if err = reader.Get(ctx, key, cm); err == nil {
			var s string
			s, ok = cm.Data[dataKey]
			data = []byte(s)
		}
	default:
		return nil, fmt.Errorf("kind %q is neither ConfigMap nor Secret", kind)
	}
	switch {
	case apierrors.IsNotFound(err):
		return nil, fmt.Errorf("the %s is %w", kind, errNoValues)
	case err != nil:
		return nil, err
	case !ok:
		return nil, fmt.Errorf("the key is %w", errNoValues)
	}
	return data, nil
}

// atPath is a values map holding value, a string, at a dotted path ("db.password").
func atPath(path, value string) ([]byte, error) {
	parts := strings.Split(path, ".")
	var v any = value
	for i := len(parts) - 1; i >= 0; i-- {
		if parts[i] == "" {
			return nil, fmt.Errorf("targetPath %q has an empty segment", path)
		}
		v = map[string]any{parts[i]: v}
	}
	return json.Marshal(v)
}

// valuesFromRefs are the objects an Application's environments take values from, as
// "Kind/name", for the index that maps a changed ConfigMap or Secret to them.
func valuesFromRefs(app *landfallv1.Application) []string {
	var out []string
	for _, e := range app.Spec.Environments {
		for _, ref := range e.ValuesFrom {
			out = append(out, ref.Kind+"/"+ref.Name)
		}
	}
	return out
}

// usesValuesFrom reports whether an environment takes values from the object.
func usesValuesFrom(env *landfallv1.Environment, kind, name string) bool {
	for _, ref := range env.ValuesFrom {
		if ref.Kind == kind && ref.Name == name {
			return true
		}
	}
	return false
}
