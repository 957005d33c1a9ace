package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sync"

	"github.com/landfall-dev/landfall/test/cluster"
	"github.com/landfall-dev/landfall/test/gitserver"
)

// demoTB lets the test Git server run in a program: failures panic (the demo stops with
// the message) and cleanups run when the demo ends.
type demoTB struct {
	dir      string
	mu       sync.Mutex
	cleanups []func()
	n        int
}

func (d *demoTB) Helper()                           {}
func (d *demoTB) Fatal(args ...any)                 { panic(fmt.Sprint(args...)) }
func (d *demoTB) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
func (d *demoTB) Cleanup(f func())                  { d.mu.Lock(); d.cleanups = append(d.cleanups, f); d.mu.Unlock() }
func (d *demoTB) TempDir() string {
	d.mu.Lock()
	d.n++
	n := d.n
	d.mu.Unlock()
	dir := filepath.Join(d.dir, fmt.Sprintf("tmp%d", n))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		panic(err)
	}
	return dir
}

func (d *demoTB) close() {
	for i := len(d.cleanups) - 1; i >= 0; i-- {
		d.cleanups[i]()
	}
}

// seedGit starts a Git server on loopback and pushes examples/shop-config to main.
func seedGit(tb *demoTB) (*gitserver.Server, string, error) {
	srv := gitserver.New(tb, gitserver.Options{})
	src := filepath.Join(cluster.RepoRoot(), "examples", "shop-config")
	commit := srv.CommitChangeAs(tb, "main", "Platform Team <platform@shop.example>", "shop and payments: the first config", func(dir string) {
		err := filepath.WalkDir(src, func(path string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(src, path)
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(rel)), 0o755); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dir, rel), b, 0o644)
		})
		if err != nil {
			panic(err)
		}
	})
	return srv, commit, nil
}

// hook sends a signed GitHub webhook, as the Git host would after a push.
func hook(addr, event string, body []byte) error {
	mac := hmac.New(sha256.New, []byte(webhookToken))
	mac.Write(body)
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/hooks/landfall-system/shop-config", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("webhook answered %s", resp.Status)
	}
	return nil
}

const webhookToken = "demo-webhook-token"
