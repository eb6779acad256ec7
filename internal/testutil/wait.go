package testutil

import (
	"context"
	"sync"
	"testing"
	"time"
)

// Barrier is a rendezvous of n goroutines that ends with the context: where
// a sync.WaitGroup used as a barrier hangs the package until go test's
// 10-minute timeout when a regression keeps one party away, Arrive returns
// the context's error and the test fails at once with a reason.
type Barrier struct {
	mu   sync.Mutex
	left int
	all  chan struct{}
}

// NewBarrier returns a barrier for n parties.
func NewBarrier(n int) *Barrier {
	b := &Barrier{left: n, all: make(chan struct{})}
	if n <= 0 {
		close(b.all)
	}
	return b
}

// Arrive counts the caller in and waits until all n parties have arrived,
// or ctx ends (it returns ctx's error then; the caller still counts).
func (b *Barrier) Arrive(ctx context.Context) error {
	b.mu.Lock()
	if b.left > 0 {
		b.left--
		if b.left == 0 {
			close(b.all)
		}
	}
	b.mu.Unlock()
	return Await(ctx, b.all)
}

// Await waits until ch is closed (or yields a value) or ctx ends, and then
// returns ctx's error: the form of `<-release` for code under test, which
// must give up when its context does.
func Await[T any](ctx context.Context, ch <-chan T) error {
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Receive is `<-ch` for the test's own goroutine: it returns the next value
// from ch, or fails the test naming what did not happen if none arrives
// within d. Call it only from the goroutine running the test (t.Fatalf).
func Receive[T any](t testing.TB, ch <-chan T, d time.Duration, what string) T {
	t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case v := <-ch:
		return v
	case <-timer.C:
		t.Fatalf("waited %s for %s; it did not happen", d, what)
		panic("unreachable") // t.Fatalf does not return
	}
}
