package cluster

import (
	"context"
	"errors"
)

// StopAPIServer kills kube-apiserver (SIGKILL: an outage gives no notice) and leaves etcd
// and every other component running. Clients get connection errors until StartAPIServer
// brings it back on the same port with the same data.
func (c *Cluster) StopAPIServer() error {
	p := c.proc("kube-apiserver")
	if p == nil || p.exited() {
		return errors.New("kube-apiserver is not running")
	}
	_ = p.cmd.Process.Kill()
	<-p.done
	return nil
}

// StartAPIServer starts kube-apiserver again after StopAPIServer and returns once it is
// ready. Its log goes on in the same file.
func (c *Cluster) StartAPIServer(ctx context.Context) error {
	if p := c.proc("kube-apiserver"); p != nil && !p.exited() {
		return errors.New("kube-apiserver is already running")
	}
	return c.startAPIServer(ctx)
}
