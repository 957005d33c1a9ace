package main

import (
	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/landfall-dev/landfall/controllers"
)

// kubeFlags find the cluster as kubectl does: --kubeconfig, $KUBECONFIG, ~/.kube/config.
type kubeFlags struct {
	kubeconfig string
	context    string
	namespace  string
}

func (k *kubeFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&k.kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
	cmd.Flags().StringVar(&k.context, "context", "", "kubeconfig context")
	cmd.Flags().StringVarP(&k.namespace, "namespace", "n", "", "namespace of the Application (default: the context's)")
}

func (k *kubeFlags) loader() clientcmd.ClientConfig {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = k.kubeconfig
	return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: k.context})
}

// client returns a client that knows Landfall's kinds, its config, and the namespace to use.
func (k *kubeFlags) client() (client.Client, *rest.Config, string, error) {
	cc := k.loader()
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, nil, "", err
	}
	ns := k.namespace
	if ns == "" {
		if ns, _, err = cc.Namespace(); err != nil {
			return nil, nil, "", err
		}
	}
	scheme, err := controllers.NewScheme()
	if err != nil {
		return nil, nil, "", err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	return c, cfg, ns, err
}
