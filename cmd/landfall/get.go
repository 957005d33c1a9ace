package main

import (
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/client-go/rest"
)

// getKind is one of Landfall's kinds as landfall get names it: the resource fully
// qualified, so that Argo CD's applications.argoproj.io is never meant.
type getKind struct{ resource, kind string }

// getKinds maps what users type to Landfall's kinds.
var getKinds = map[string]getKind{}

func init() {
	for kind, names := range map[getKind][]string{
		{"repositories.landfall.dev", "Repository"}:  {"repository", "repositories", "lfrepo", "lfrepos"},
		{"applications.landfall.dev", "Application"}: {"application", "applications", "lfapp", "lfapps"},
		{"previews.landfall.dev", "Preview"}:         {"preview", "previews", "lfpreview", "lfpreviews"},
	} {
		for _, n := range names {
			getKinds[n] = kind
		}
	}
}

func newGetCmd() *cobra.Command {
	var k kubeFlags
	var selector string
	var o *outputFlags
	cmd := &cobra.Command{
		Use:   "get repositories|applications|previews [NAME...]",
		Short: "List Repositories, Applications or Previews with their printer columns, as kubectl get does",
		Example: `  # Every Application of the current namespace: Ready, Revision, Sync, Health, Age
  landfall get applications

  # Repositories of every namespace, with their URL and message
  landfall get lfrepo -A -o wide

  # One Application as YAML, or just its revision
  landfall get application shop -o yaml
  landfall get application shop -o jsonpath='{.status.revision}'`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: completeGet(&k),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runGet(cmd, &k, o, selector, args)
		},
	}
	k.register(cmd)
	k.registerAll(cmd, "objects")
	o = addOutputFlags(cmd)
	cmd.Flags().StringVarP(&selector, "selector", "l", "", "label selector (key=value,…)")
	return cmd
}

func runGet(cmd *cobra.Command, k *kubeFlags, o *outputFlags, selector string, args []string) error {
	kind, ok := getKinds[strings.ToLower(args[0])]
	if !ok {
		return fmt.Errorf("unknown kind %q: use repositories, applications or previews", args[0])
	}
	ns, err := k.namespace()
	if err != nil {
		return err
	}
	b := resource.NewBuilder(k.config).Unstructured().
		NamespaceParam(ns).DefaultNamespace().AllNamespaces(k.allNamespaces).
		ResourceTypeOrNameArgs(true, append([]string{kind.resource}, args[1:]...)...).
		LabelSelectorParam(selector).ContinueOnError().Latest().Flatten()
	if o.table() {
		b = b.TransformRequests(asTable)
	}
	infos, err := b.Do().Infos()
	if err != nil {
		return err
	}
	if !o.table() {
		objs := make([]runtime.Object, len(infos))
		for i, info := range infos {
			objs[i] = info.Object
		}
		return o.printObjects(cmd.OutOrStdout(), objs, len(args) == 2)
	}
	return printTables(cmd, infos, k.allNamespaces, o.wide())
}

// asTable asks the apiserver for its Table of the kind: the CRD's printer columns.
func asTable(req *rest.Request) {
	req.SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io,application/json")
}

func printTables(cmd *cobra.Command, infos []*resource.Info, allNamespaces, wide bool) error {
	table := &metav1.Table{}
	for _, info := range infos {
		t, err := decodeTable(info.Object)
		if err != nil {
			return err
		}
		if len(table.ColumnDefinitions) == 0 {
			table.ColumnDefinitions = t.ColumnDefinitions
		}
		table.Rows = append(table.Rows, t.Rows...)
	}
	if len(table.Rows) == 0 {
		fmt.Fprintln(cmd.ErrOrStderr(), "No resources found")
		return nil
	}
	sort.SliceStable(table.Rows, func(i, j int) bool { return rowKey(table.Rows[i]) < rowKey(table.Rows[j]) })
	p := printers.NewTablePrinter(printers.PrintOptions{WithNamespace: allNamespaces, Wide: wide})
	return p.PrintObj(table, cmd.OutOrStdout())
}

// decodeTable turns the apiserver's answer into a Table whose rows carry their objects'
// metadata, which the printer needs for the namespace column.
func decodeTable(obj runtime.Object) (*metav1.Table, error) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok || u.GetKind() != "Table" {
		return nil, fmt.Errorf("the apiserver answered %T, not a Table", obj)
	}
	t := &metav1.Table{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, t); err != nil {
		return nil, fmt.Errorf("decoding the Table: %w", err)
	}
	for i := range t.Rows {
		row := &t.Rows[i]
		if row.Object.Raw == nil || row.Object.Object != nil {
			continue
		}
		o, err := runtime.Decode(unstructured.UnstructuredJSONScheme, row.Object.Raw)
		if err != nil {
			return nil, fmt.Errorf("decoding a Table row: %w", err)
		}
		row.Object.Object = o
	}
	return t, nil
}

func rowKey(r metav1.TableRow) string {
	if u, ok := r.Object.Object.(*unstructured.Unstructured); ok {
		return u.GetNamespace() + "/" + u.GetName()
	}
	return ""
}
