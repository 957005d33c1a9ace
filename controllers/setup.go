// Package controllers holds Landfall's reconcilers: one file set per kind. It turns specs into
// plain options for the engine packages (sync/*, render, health) and reports what happened
// through status conditions, Events, metrics and logs.
package controllers

import (
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
)

// Options configure every controller.
type Options struct {
	// Concurrency is the number of objects of each kind reconciled at once.
	Concurrency int
	// CacheDir holds Git checkouts.
	CacheDir string
	// Jitter spreads periodic requeues, so many objects do not poll at the same moment.
	Jitter float64
	// RequeueInterval bounds how long an object waits without a watch event.
	RequeueInterval time.Duration
}

// NewScheme returns a scheme with the Kubernetes built-in kinds and Landfall's kinds.
func NewScheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return nil, err
	}
	if err := landfallv1.AddToScheme(s); err != nil {
		return nil, err
	}
	return s, nil
}

// Setup registers every controller with the manager.
func Setup(mgr ctrl.Manager, opts Options) error {
	_ = mgr
	_ = opts
	return nil
}
