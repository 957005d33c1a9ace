package sandbox

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"syscall"
)

// Main serves requests with serve and exits when this process is a child, and returns at
// once otherwise. Call it first in main, and in TestMain of tests whose Runner starts the
// test binary.
func Main(serve func(in io.Reader, out io.Writer) error) {
	if os.Getenv(envChild) == "" {
		return
	}
	os.Exit(child(serve))
}

// child serves one request after another until its parent closes the pipe, and retires
// (answers, then exits) after maxUses requests or once the memory it holds has grown past
// half its budget: a long-lived worker must leave each render the budget a fresh one has.
func child(serve func(in io.Reader, out io.Writer) error) int {
	max, err := strconv.ParseInt(os.Getenv(envMemory), 10, 64)
	if err == nil {
		err = capMemory(max)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "sandbox: capping memory:", err)
		return 2
	}
	uses, _ := strconv.Atoi(os.Getenv(envUses))
	base := runtimeBytes()
	in, out := bufio.NewReader(os.Stdin), bufio.NewWriter(os.Stdout)
	for served := 1; ; served++ {
		req, err := readRequest(in)
		if errors.Is(err, io.EOF) {
			return 0 // the parent is done with this worker
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "sandbox: reading the request:", err)
			return 2
		}
		var answer bytes.Buffer
		status := statusOK
		if err := serve(bytes.NewReader(req), &answer); err != nil {
			status = statusFailed
			answer.Reset()
			answer.WriteString(err.Error())
		}
		retire := served >= uses || runtimeBytes()-base > max/2
		if retire {
			status |= statusRetiring
		}
		peak, _ := StatusBytes("VmHWM")
		if err := writeAnswer(out, status, answer.Bytes(), peak); err != nil {
			fmt.Fprintln(os.Stderr, "sandbox: writing the answer:", err)
			return 2
		}
		if retire {
			return 0
		}
	}
}

// runtimeBytes is the memory the Go runtime has mapped, in use or not.
func runtimeBytes() int64 {
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return int64(s[0].Value.Uint64())
}

// capMemory lets the process map at most max bytes more than it has mapped now (the Go
// runtime reserves address space at start), and makes the collector work hard before.
func capMemory(max int64) error {
	if RaceEnabled {
		go watchMemory(max)
		return nil
	}
	vsz, err := StatusBytes("VmSize")
	if err != nil {
		return err
	}
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_AS, &rl); err != nil {
		return err
	}
	rl.Cur = min(uint64(vsz+max), rl.Max)
	if err := syscall.Setrlimit(syscall.RLIMIT_AS, &rl); err != nil {
		return err
	}
	debug.SetMemoryLimit(max * 3 / 4)
	return nil
}
