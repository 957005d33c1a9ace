package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/health"
	"github.com/landfall-dev/landfall/operate"
)

func newTreeCmd() *cobra.Command {
	var k kubeFlags
	var env string
	var o *outputFlags
	cmd := &cobra.Command{
		Use:   "tree APPLICATION --env ENVIRONMENT",
		Short: "Show the objects an environment of an Application runs, with the health of each",
		Example: `  landfall tree shop --env staging

  # The live objects themselves
  landfall tree shop --env staging -o yaml`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeApplications(&k),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, app, err := k.application(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			nodes, err := treeNodes(cmd, c, app, env)
			if err != nil {
				return err
			}
			if !o.table() {
				var objs []runtime.Object
				for _, n := range nodes {
					if n.live != nil {
						objs = append(objs, operate.MaskSecret(n.live))
					}
				}
				return o.printObjects(cmd.OutOrStdout(), objs, false)
			}
			printTree(cmd.OutOrStdout(), app, env, nodes, o.wide())
			return nil
		},
	}
	k.register(cmd)
	o = addOutputFlags(cmd)
	cmd.Flags().StringVar(&env, "env", "", "the environment (required)")
	_ = cmd.MarkFlagRequired("env")
	_ = cmd.RegisterFlagCompletionFunc("env", completeEnvironments(&k))
	return cmd
}

type treeNode struct {
	id     string
	live   *unstructured.Unstructured // nil when missing
	health health.Result
}

// treeNodes reads every object of the environment's inventory and judges its health.
func treeNodes(cmd *cobra.Command, c client.Client, app *landfallv1.Application, env string) ([]treeNode, error) {
	entries, err := operate.Entries(app, env)
	if err != nil {
		return nil, err
	}
	nodes := make([]treeNode, 0, len(entries))
	for _, e := range entries {
		obj := operate.EmptyObject(e)
		n := treeNode{id: e.Kind + "/" + e.Name}
		if e.Namespace != "" {
			n.id = e.Kind + " " + e.Namespace + "/" + e.Name
		}
		switch err := c.Get(cmd.Context(), client.ObjectKeyFromObject(obj), obj); {
		case apierrors.IsNotFound(err):
			n.health = health.Result{Status: health.Unknown, Message: "missing: not in the cluster"}
		case err != nil:
			return nil, fmt.Errorf("reading %s: %w", n.id, err)
		default:
			n.live, n.health = obj, health.Of(obj)
		}
		nodes = append(nodes, n)
	}
	return nodes, nil
}

// printTree writes the environment and its objects; wide, with the whole revision and
// health messages.
func printTree(w io.Writer, app *landfallv1.Application, env string, nodes []treeNode, wide bool) {
	st := operate.EnvironmentStatus(app, env)
	rev, width := operate.ShortRevision(st.Revision), 80
	if wide {
		rev, width = st.Revision, 1<<16
	}
	fmt.Fprintf(w, "Application %s/%s, environment %s at %s: %s, %s\n", app.Namespace, app.Name, env, rev, st.Sync, st.Health)
	for i, n := range nodes {
		branch := "├── "
		if i == len(nodes)-1 {
			branch = "└── "
		}
		line := fmt.Sprintf("%s%s  %s", branch, n.id, n.health.Status)
		if n.health.Message != "" {
			line += "  " + oneLine(n.health.Message, width)
		}
		fmt.Fprintln(w, line)
	}
}
