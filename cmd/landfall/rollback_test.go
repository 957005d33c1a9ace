package main

import (
	"strings"
	"testing"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/operate"
)

func TestRollbackTarget(t *testing.T) {
	const (
		v1 = "main@sha1:1111111111111111111111111111111111111111"
		v2 = "main@sha1:2222222222222222222222222222222222222222"
		v3 = "main@sha1:3333333333333333333333333333333333333333"
	)
	app := &landfallv1.Application{}
	app.Name = "shop"
	app.Spec.Environments = []landfallv1.Environment{{Name: "staging"}, {Name: "production"}, {Name: "new"}}
	app.Status.Environments = []landfallv1.EnvironmentStatus{
		{Name: "staging", Revision: v3, LastHealthyRevision: v3},
		{Name: "production", Revision: v2, LastHealthyRevision: v2},
	}
	app.Status.History = []landfallv1.HistoryEntry{
		{Revision: v3, Environment: "staging", Result: landfallv1.ResultSucceeded},
		{Revision: v2, Environment: "production", Result: landfallv1.ResultSucceeded},
		{Revision: v1, Environment: "production", Result: landfallv1.ResultSucceeded},
	}
	for _, tc := range []struct {
		env, to, want, err string
	}{
		{env: "production", want: v1},
		{env: "production", to: v3, want: v3},
		{env: "production", to: "1111111", want: v1},
		{env: "production", to: "111111", err: "not in the history"},
		{env: "production", to: "main@sha1:4444444444444444444444444444444444444444", err: "not in the history"},
		{env: "prod", err: `no environment "prod"`},
		{env: "new", err: "not been deployed"},
		{env: "staging", err: "no earlier healthy revision"},
	} {
		got, err := operate.RollbackTarget(app, tc.env, tc.to)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("rollback %s --to %q: error %v, want one saying %q", tc.env, tc.to, err, tc.err)
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("rollback %s --to %q = %q, %v; want %q", tc.env, tc.to, got, err, tc.want)
		}
	}
}

func TestAwaitingApproval(t *testing.T) {
	app := &landfallv1.Application{}
	app.Name = "shop"
	app.Spec.Environments = []landfallv1.Environment{{Name: "staging"}, {Name: "production", RequireApproval: true},
		{Name: "canary", Rollout: &landfallv1.RolloutSpec{Strategy: landfallv1.RolloutCanary,
			Steps: []landfallv1.CanaryStep{{Weight: 25, RequireApproval: true}}}}}
	if _, _, err := operate.AwaitingApproval(app, "staging"); err == nil || !strings.Contains(err.Error(), "does not require approval") {
		t.Errorf("staging: %v", err)
	}
	if _, _, err := operate.AwaitingApproval(app, "prod"); err == nil || !strings.Contains(err.Error(), `no environment "prod"`) {
		t.Errorf("prod: %v", err)
	}
	for _, env := range []string{"production", "canary"} {
		if _, _, err := operate.AwaitingApproval(app, env); err == nil || !strings.Contains(err.Error(), "no revision waits") {
			t.Errorf("%s, nothing waiting: %v", env, err)
		}
	}
	step := int32(0)
	app.Status.Environments = []landfallv1.EnvironmentStatus{
		{Name: "production", AwaitingApproval: "main@sha1:1111111111111111111111111111111111111111"},
		{Name: "canary", AwaitingApproval: "main@sha1:2222222222222222222222222222222222222222", AwaitingApprovalStep: &step},
	}
	if got, s, err := operate.AwaitingApproval(app, "production"); err != nil || got != app.Status.Environments[0].AwaitingApproval || s != nil {
		t.Errorf("production = %q, %v, %v", got, s, err)
	}
	if got, s, err := operate.AwaitingApproval(app, "canary"); err != nil || got != app.Status.Environments[1].AwaitingApproval || s == nil || *s != 0 {
		t.Errorf("canary = %q, %v, %v; want its step 0", got, s, err)
	}

	// A step that requires approval but is, this moment, waiting for health again (an
	// autoscaler gathering the new pods' metrics) is the step a person approves: the
	// rollout still waits for health after the approval.
	rev := "main@sha1:3333333333333333333333333333333333333333"
	for _, phase := range []landfallv1.RolloutPhase{landfallv1.RolloutProgressing, landfallv1.RolloutAnalyzing} {
		app.Status.Environments[1] = landfallv1.EnvironmentStatus{Name: "canary",
			Rollout: &landfallv1.RolloutStatus{Revision: rev, Step: 0, Phase: phase}}
		if got, s, err := operate.AwaitingApproval(app, "canary"); err != nil || got != rev || s == nil || *s != 0 {
			t.Errorf("canary at step 0, %s = %q, %v, %v; want step 0 of %s", phase, got, s, err, rev)
		}
	}
	for _, phase := range []landfallv1.RolloutPhase{landfallv1.RolloutBaking, landfallv1.RolloutCompleted, landfallv1.RolloutRolledBack} {
		app.Status.Environments[1].Rollout.Phase = phase
		if _, _, err := operate.AwaitingApproval(app, "canary"); err == nil || !strings.Contains(err.Error(), "no revision waits") {
			t.Errorf("canary %s: %v, want nothing waiting", phase, err)
		}
	}
}
