package main

import (
	"context"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/controllers"
)

// kubeFlags find the cluster as kubectl does: the standard kubeconfig flags of cli-runtime
// (--kubeconfig, --context, --as, --token, --server, --request-timeout, -n, …), $KUBECONFIG,
// ~/.kube/config. A command that talks to a cluster declares `var k kubeFlags`, calls
// k.register(cmd) and then k.client() in RunE.
type kubeFlags struct {
	config        *genericclioptions.ConfigFlags
	allNamespaces bool
}

func (k *kubeFlags) register(cmd *cobra.Command) {
	k.config = genericclioptions.NewConfigFlags(true)
	k.config.AddFlags(cmd.Flags())
	_ = cmd.RegisterFlagCompletionFunc("namespace", completeNamespaces(k))
}

// registerAll adds -A, for the commands that list.
func (k *kubeFlags) registerAll(cmd *cobra.Command, what string) {
	cmd.Flags().BoolVarP(&k.allNamespaces, "all-namespaces", "A", false, what+" of every namespace")
}

// namespace is -n, else the kubeconfig context's namespace, else default.
func (k *kubeFlags) namespace() (string, error) {
	ns, _, err := k.config.ToRawKubeConfigLoader().Namespace()
	return ns, err
}

// client returns a client that knows Landfall's kinds, its config, and the namespace to use.
func (k *kubeFlags) client() (client.Client, *rest.Config, string, error) {
	cfg, err := k.config.ToRESTConfig()
	if err != nil {
		return nil, nil, "", err
	}
	ns, err := k.namespace()
	if err != nil {
		return nil, nil, "", err
	}
	scheme, err := controllers.NewScheme()
	if err != nil {
		return nil, nil, "", err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	return c, cfg, ns, err
}

// application reads the Application NAME of the namespace the flags say, and returns the
// client it used.
func (k *kubeFlags) application(ctx context.Context, name string) (client.Client, *landfallv1.Application, error) {
	c, _, ns, err := k.client()
	if err != nil {
		return nil, nil, err
	}
	app := &landfallv1.Application{}
	if err := c.Get(ctx, objectKey(ns, name), app); err != nil {
		return nil, nil, err
	}
	return c, app, nil
}

func objectKey(namespace, name string) client.ObjectKey {
	return client.ObjectKey{Namespace: namespace, Name: name}
}
