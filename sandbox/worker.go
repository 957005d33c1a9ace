package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"time"
)

// worker is one child process serving requests one at a time over two pipes of its own:
// os.Pipe, not exec's StdoutPipe, so that an answer the child wrote just before exiting is
// still there to read after Wait.
type worker struct {
	cmd     *exec.Cmd
	stdin   *os.File // the write end of the child's standard input
	stdout  *os.File // the read end of its standard output
	stderr  *capped
	exited  chan struct{} // closed once the child has exited and been waited for
	waitErr error
	idle    *time.Timer // while in the pool: retires the worker when it stays idle
}

func (r *Runner) startWorker() (*worker, error) {
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	cmd := exec.Command(r.cfg.Command[0], r.cfg.Command[1:]...)
	cmd.Env = append(os.Environ(), envChild+"=1", envMemory+"="+strconv.FormatInt(r.cfg.MaxMemory, 10),
		envUses+"="+strconv.Itoa(r.cfg.MaxUses))
	w := &worker{cmd: cmd, stdin: inW, stdout: outR, stderr: &capped{max: 16 << 10}, exited: make(chan struct{})}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, w.stderr
	err = cmd.Start()
	inR.Close() // the child holds its own copies
	outW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		return nil, fmt.Errorf("sandbox: starting a child: %w", err)
	}
	go func() {
		w.waitErr = cmd.Wait()
		close(w.exited)
	}()
	return w, nil
}

// alive reports that the child has not exited (on its own, or killed while idle).
func (w *worker) alive() bool {
	select {
	case <-w.exited:
		return false
	default:
		return true
	}
}

// call sends one request and reads its answer, killing the child when ctx ends first.
func (w *worker) call(ctx context.Context, request []byte, maxOutput int64) (answerHeader, []byte, error) {
	type result struct {
		h   answerHeader
		out []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		var res result
		if res.err = writeRequest(w.stdin, request); res.err == nil {
			res.h, res.out, res.err = w.readAnswer(maxOutput)
		}
		done <- res
	}()
	select {
	case res := <-done:
		return res.h, res.out, res.err
	case <-ctx.Done():
		w.kill() // the pipes break, and the goroutine above ends
		<-done
		return answerHeader{}, nil, ctx.Err()
	}
}

// errOutput is an answer longer than the caller allows; it is never read.
var errOutput = errors.New("the answer is over its bound")

func (w *worker) readAnswer(maxOutput int64) (answerHeader, []byte, error) {
	h, err := readAnswerHeader(w.stdout)
	if err != nil {
		return h, nil, err
	}
	if h.length > maxOutput {
		return h, nil, errOutput
	}
	out := make([]byte, h.length)
	if _, err := io.ReadFull(w.stdout, out); err != nil {
		return h, nil, err
	}
	return h, out, nil
}

// crash says why a child stopped answering, once it has exited.
func (w *worker) crash(maxMemory int64) error {
	<-w.exited
	if outOfMemory(w.stderr.String()) {
		return overLimit("needed more than %d MiB of memory (the memory limit)", maxMemory>>20)
	}
	return fmt.Errorf("sandbox child: %w: %s", w.waitErr, firstLine(w.stderr.String()))
}

// close ends the child the polite way (it reads the end of its input and exits), and
// kills it, by its PID, if it has not gone within a few seconds.
func (w *worker) close() {
	w.stdin.Close()
	select {
	case <-w.exited:
	case <-time.After(5 * time.Second):
		_ = w.cmd.Process.Kill()
		<-w.exited
	}
	w.stdout.Close()
}

// kill ends the child at once and waits for it.
func (w *worker) kill() {
	_ = w.cmd.Process.Kill()
	<-w.exited
	w.stdin.Close()
	w.stdout.Close()
}
