package controllers

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	landfallv1 "github.com/landfall-dev/landfall/api/v1alpha1"
	"github.com/landfall-dev/landfall/sync/inventory"
)

// etcdRequestLimit is etcd's default --max-request-bytes: a status write (the whole
// object) larger than this is refused.
const etcdRequestLimit = 1536 << 10

// manyRevisions records revisions rollouts in each of three environments through
// setHistory, every one failing with a message of msgLen bytes, as a health message that
// quotes an object's status would.
func manyRevisions(app *landfallv1.Application, revisions, msgLen int) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	msg := strings.Repeat("m", msgLen)
	// The largest commit the API allows, in characters of four bytes each.
	commit := &landfallv1.CommitInfo{Subject: strings.Repeat("𝄞", 72), Author: strings.Repeat("𝄞", 64)}
	for i := range revisions {
		sum := sha256.Sum256(fmt.Appendf(nil, "%d", i))
		rev := "main@sha1:" + hex.EncodeToString(sum[:20])
		for _, env := range []string{"staging", "canary", "production"} {
			setHistory(app, rev, commit, env, landfallv1.ResultProgressing, "rolling out", now)
			setHistory(app, rev, commit, env, landfallv1.ResultFailed, msg, now.Add(time.Minute))
		}
		now = now.Add(time.Hour)
	}
}

// TestHistoryStaysSmall: however many revisions roll out and however long their messages,
// the history keeps MaxHistory entries with bounded messages, so it cannot push the
// Application's status over the apiserver's request limit.
func TestHistoryStaysSmall(t *testing.T) {
	app := &landfallv1.Application{}
	manyRevisions(app, 100, 256<<10)
	if len(app.Status.History) != landfallv1.MaxHistory {
		t.Errorf("history holds %d entries, want %d", len(app.Status.History), landfallv1.MaxHistory)
	}
	raw, err := json.Marshal(app.Status.History)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) > 64<<10 {
		t.Errorf("history at its cap takes %d KiB, want at most 64 KiB", len(raw)>>10)
	}
}

// BenchmarkStatusHistorySize reports the size of an Application's status after 1,000
// revisions rolled out to three environments (the history at its cap of MaxHistory), with
// short and long messages, beside the stored inventory of 10,000 objects with
// 250-character names (as BenchmarkStatusSize in sync/inventory) and the request limit the
// whole status must stay under.
func BenchmarkStatusHistorySize(b *testing.B) {
	inv := encodeInventory(longNamedInventory(b, 10000))
	for _, msgLen := range []int{64, 4 << 10, 256 << 10} {
		b.Run(fmt.Sprintf("message=%dB", msgLen), func(b *testing.B) {
			var history, status []byte
			for b.Loop() {
				app := &landfallv1.Application{}
				manyRevisions(app, 1000, msgLen)
				app.Status.Environments = []landfallv1.EnvironmentStatus{{Name: "production", Inventory: inv}}
				var err error
				if history, err = json.Marshal(app.Status.History); err != nil {
					b.Fatal(err)
				}
				if status, err = json.Marshal(app.Status); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(history))/1024, "history-KiB")
			b.ReportMetric(float64(len(status)-len(history))/1024, "inventory-10000-KiB")
			b.ReportMetric(float64(len(status))/1024, "status-KiB")
			b.ReportMetric(etcdRequestLimit/1024, "limit-KiB")
		})
	}
}

// longNamedInventory is n ConfigMaps with 250-character names, distinct past a prefix.
func longNamedInventory(b *testing.B, n int) inventory.Inventory {
	entries := make([]inventory.Entry, n)
	for i := range entries {
		sum := sha256.Sum256(fmt.Appendf(nil, "%d", i))
		name := fmt.Sprintf("settings-%05d-", i) + strings.Repeat(hex.EncodeToString(sum[:]), 4)
		entries[i] = inventory.Entry{ObjMetadata: inventory.ObjMetadata{Kind: "ConfigMap", Namespace: "shop", Name: name[:250]}, Version: "v1"}
	}
	inv, err := inventory.New(entries...)
	if err != nil {
		b.Fatal(err)
	}
	return inv
}
