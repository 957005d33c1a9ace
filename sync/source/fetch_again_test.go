package source

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/go-git/go-git/v5"
)

// errClosedInput is the error go-git v5 returns when an SSH server closed the channel before
// go-git closed its side (plumbing/transport/internal/common: "closing input: %s").
var errClosedInput = errors.New("closing input: " + io.EOF.Error())

func TestFetchAgainOnClosedInput(t *testing.T) {
	other := errors.New("authentication required")
	for _, c := range []struct {
		name    string
		results []error
		calls   int
		want    error
	}{
		{"once, then fetched", []error{errClosedInput, nil}, 2, nil},
		{"once, then up to date", []error{errClosedInput, git.NoErrAlreadyUpToDate}, 2, nil},
		{"twice: the second is the answer", []error{errClosedInput, errClosedInput}, 2, errClosedInput},
		{"another error is not fetched again", []error{other}, 1, other},
		{"up to date", []error{git.NoErrAlreadyUpToDate}, 1, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			calls := 0
			err := fetchAgainOnClosedInput(context.Background(), func() error {
				calls++
				return c.results[calls-1]
			})
			if calls != c.calls || (c.want == nil) != (err == nil) || (c.want != nil && err.Error() != c.want.Error()) {
				t.Errorf("calls %d, error %v; want %d, %v", calls, err, c.calls, c.want)
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	calls := 0
	if err := fetchAgainOnClosedInput(ctx, func() error { calls++; return errClosedInput }); err == nil || calls != 1 {
		t.Errorf("cancelled: calls %d, error %v; want 1 call and its error", calls, err)
	}
}
