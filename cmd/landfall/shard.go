package main

import (
	"fmt"
	"os"

	"github.com/go-logr/logr"
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/landfall-dev/landfall/shard"
)

// shardFlags turn the replicas of one group into shards: each holds a Lease of its own
// and reconciles the objects rendezvous hashing gives it (docs/design.md, "Sharding").
type shardFlags struct {
	group string
	id    string
}

func (s *shardFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&s.group, "shard-group", "", "share the objects out over every replica started with this group name, one Lease each in the leader-election namespace, instead of electing one leader (the chart sets it when replicas > 1)")
	fl.StringVar(&s.id, "shard-id", "", "this replica's name in the shard group, unique in it ($POD_NAME, else the host name)")
}

func (s *shardFlags) enabled() bool { return s.group != "" }

// name is this replica's id in the group.
func (s *shardFlags) name() (string, error) {
	if s.id != "" {
		return s.id, nil
	}
	if p := os.Getenv("POD_NAME"); p != "" {
		return p, nil
	}
	h, err := os.Hostname()
	if err != nil {
		return "", fmt.Errorf("naming this shard (set --shard-id): %w", err)
	}
	return h, nil
}

// userAgent names the replica in the apiserver's audit log: requests of one shard can be
// told from another's.
func (s *shardFlags) userAgent(cfg *rest.Config) string {
	ua := cfg.UserAgent
	if ua == "" {
		ua = rest.DefaultKubernetesUserAgent()
	}
	if !s.enabled() {
		return ua
	}
	id, err := s.name()
	if err != nil {
		return ua
	}
	return ua + " shard/" + id
}

// ring returns the shard group's ring, or nil when the replicas elect a leader instead.
// It keeps the leader election's timings: a replica renews its Lease every retry period,
// counts itself a member for the renew deadline after a renewal, and the others drop it
// once its Lease has not moved for the lease duration.
func (s *shardFlags) ring(cfg *rest.Config, scheme *runtime.Scheme, namespace string, l leaseFlags, log logr.Logger) (*shard.Ring, error) {
	if !s.enabled() {
		return nil, nil
	}
	id, err := s.name()
	if err != nil {
		return nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("creating the shard Lease client: %w", err)
	}
	opts := shard.Options{
		ID: id, Namespace: namespace, Group: s.group, Client: c,
		RenewInterval: l.retryPeriod, LeaseDuration: l.duration, RenewDeadline: l.renewDeadline,
		// Two views' age (how late a replica may learn it lost a key) and a request in flight.
		Settle: 3 * l.retryPeriod,
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	return shard.New(opts, log.WithName("shard")), nil
}
