package source

import "context"

// bound limits a remote operation by the caller's deadline when it has one (the
// Repository's spec.timeout, which may be longer or shorter than the default), else by
// Options.Timeout.
func (c *Client) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, c.opts.Timeout)
}

// detach keeps ctx's deadline and values but not its cancellation: a fetch shared by
// several callers goes on when the caller that started it gives up early, and still ends
// at that caller's deadline.
func detach(ctx context.Context) (context.Context, context.CancelFunc) {
	out := context.WithoutCancel(ctx)
	if d, ok := ctx.Deadline(); ok {
		return context.WithDeadline(out, d)
	}
	return out, func() {}
}
