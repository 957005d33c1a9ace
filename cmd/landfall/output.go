package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	"github.com/landfall-dev/landfall/controllers"
)

// outputFlags is -o as kubectl has it: a table by default, wide for more columns, and
// cli-runtime's printers for yaml, json, name, jsonpath and go-template.
type outputFlags struct {
	print *genericclioptions.PrintFlags
}

var outputFormats = []string{"wide", "yaml", "json", "name", "jsonpath=", "jsonpath-file=", "go-template=", "go-template-file="}

func addOutputFlags(cmd *cobra.Command) *outputFlags {
	scheme, _ := controllers.NewScheme()
	p := genericclioptions.NewPrintFlags("").WithTypeSetter(scheme)
	p.AddFlags(cmd)
	cmd.Flags().Lookup("output").Usage = "Output format: wide, yaml, json, name, jsonpath=TEMPLATE, jsonpath-file=FILE, go-template=TEMPLATE, go-template-file=FILE (default: a table)"
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(outputFormats, cobra.ShellCompDirectiveNoFileComp|cobra.ShellCompDirectiveNoSpace))
	return &outputFlags{print: p}
}

// table reports whether the output is for people: a table, wide or not.
func (o *outputFlags) table() bool { f := *o.print.OutputFormat; return f == "" || f == "wide" }

func (o *outputFlags) wide() bool { return *o.print.OutputFormat == "wide" }

// printObjects writes objects in a machine format: one object as itself, several as a v1
// List, as kubectl does.
func (o *outputFlags) printObjects(w io.Writer, objs []runtime.Object, single bool) error {
	p, err := o.print.ToPrinter()
	if err != nil {
		return err
	}
	list := newList()
	for _, obj := range objs {
		u, err := toUnstructured(obj)
		if err != nil {
			return err
		}
		if single && len(objs) == 1 {
			return p.PrintObj(u, w)
		}
		list.Items = append(list.Items, *u)
	}
	return p.PrintObj(list, w)
}

// asObjects lists the addresses of items, for printObjects.
func asObjects[T any, P interface {
	*T
	runtime.Object
}](items []T) []runtime.Object {
	objs := make([]runtime.Object, len(items))
	for i := range items {
		objs[i] = P(&items[i])
	}
	return objs
}

// newList is an empty v1 List, what kubectl prints several objects as.
func newList() *unstructured.UnstructuredList {
	return &unstructured.UnstructuredList{Object: map[string]any{
		"apiVersion": "v1", "kind": "List", "metadata": map[string]any{"resourceVersion": ""},
	}}
}

// toUnstructured gives a typed object its apiVersion and kind, which the client leaves empty.
func toUnstructured(obj runtime.Object) (*unstructured.Unstructured, error) {
	if u, ok := obj.(*unstructured.Unstructured); ok {
		return u, nil
	}
	scheme, err := controllers.NewScheme()
	if err != nil {
		return nil, err
	}
	gvk, err := apiutil.GVKForObject(obj, scheme)
	if err != nil {
		return nil, fmt.Errorf("printing %T: %w", obj, err)
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, fmt.Errorf("printing %T: %w", obj, err)
	}
	u := &unstructured.Unstructured{Object: m}
	u.SetGroupVersionKind(gvk)
	return u, nil
}
