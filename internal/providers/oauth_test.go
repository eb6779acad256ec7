package providers

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"syncer/internal/testutil"
)

func TestTokenSourceAbandonedFetch(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	started := make(chan struct{})
	ts := NewTokenSource(func(ctx context.Context) (string, time.Duration, error) {
		if calls.Add(1) == 1 {
			close(started)
			<-ctx.Done() // the first caller gives up mid-fetch
			return "", 0, ctx.Err()
		}
		return "tok", time.Hour, nil
	}, nil)
	leaderCtx, cancel := context.WithCancel(context.Background())
	leaderErr := make(chan error, 1)
	go func() { _, err := ts.Token(leaderCtx); leaderErr <- err }()
	testutil.Receive(t, started, 10*time.Second, "the first fetch to start")
	waiter := make(chan error, 1)
	var got string
	go func() {
		var err error
		got, err = ts.Token(context.Background())
		waiter <- err
	}()
	time.Sleep(2 * time.Millisecond) // let the waiter join the fetch in flight
	cancel()
	if err := testutil.Receive(t, leaderErr, 10*time.Second, "the cancelled caller to return"); !errors.Is(err, context.Canceled) {
		t.Errorf("leader err = %v, want context.Canceled", err)
	}
	if err := testutil.Receive(t, waiter, 10*time.Second, "the waiting caller to get a token"); err != nil || got != "tok" {
		t.Errorf("waiter got %q, %v; want tok: another caller's cancellation is not its failure", got, err)
	}
}

func TestTokenSourceSharesFailure(t *testing.T) {
	t.Parallel()
	// A synctest bubble makes "every caller is waiting" observable: Wait
	// returns once all ten are blocked, on the fetch's release or on the
	// fetch in flight, so the count below does not depend on timing.
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int32
		release := make(chan struct{})
		refused := &Error{Provider: "p", Op: "token", Kind: Auth}
		ts := NewTokenSource(func(ctx context.Context) (string, time.Duration, error) {
			calls.Add(1)
			<-release
			return "", 0, refused
		}, nil)
		var wg sync.WaitGroup
		errs := make(chan error, 10)
		for range 10 {
			wg.Go(func() { _, err := ts.Token(context.Background()); errs <- err })
		}
		synctest.Wait()
		if n := calls.Load(); n != 1 {
			t.Errorf("%d fetches in flight for 10 concurrent callers, want 1 shared", n)
		}
		close(release)
		wg.Wait()
		close(errs)
		for err := range errs {
			if !errors.Is(err, refused) {
				t.Errorf("err = %v, want the refusal", err)
			}
		}
		if n := calls.Load(); n != 1 {
			t.Errorf("%d fetches after the refusal, want 1: the waiters share the failure, they do not retry", n)
		}
	})
}

func TestTokenSourceInvalidate(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var n atomic.Int32
	ts := NewTokenSource(func(context.Context) (string, time.Duration, error) {
		return fmt.Sprintf("tok-%d", n.Add(1)), 0, nil // no expires_in: DefaultTokenTTL
	}, func() time.Time { return now })
	ctx := context.Background()
	tok, _ := ts.Token(ctx)
	if ts.Invalidate(tok, time.Minute) {
		t.Error("a token obtained just now was dropped despite minAge")
	}
	if got, _ := ts.Token(ctx); got != "tok-1" {
		t.Errorf("got %s, want tok-1 still cached", got)
	}
	now = now.Add(2 * time.Minute)
	if !ts.Invalidate(tok, time.Minute) {
		t.Error("an old refused token was kept")
	}
	if got, _ := ts.Token(ctx); got != "tok-2" {
		t.Errorf("got %s, want tok-2", got)
	}
	// A second caller refused with the old token retries with the new one, no new fetch.
	if !ts.Invalidate("tok-1", 0) {
		t.Error("a caller holding a replaced token should retry")
	}
	if got, _ := ts.Token(ctx); got != "tok-2" || n.Load() != 2 {
		t.Errorf("got %s after %d fetches, want tok-2 after 2", got, n.Load())
	}
	now = now.Add(DefaultTokenTTL)
	if got, _ := ts.Token(ctx); got != "tok-3" {
		t.Errorf("got %s, want tok-3 after DefaultTokenTTL", got)
	}
}

func TestRedactAndTruncate(t *testing.T) {
	t.Parallel()
	if got := RedactSecrets("a s3cret b s3cret", "s3cret", ""); got != "a [redacted] b [redacted]" {
		t.Errorf("RedactSecrets = %q", got)
	}
	long := ""
	for range 300 {
		long += "بي"
	}
	got := TruncateMessage(long)
	if len(got) > 520 || !utf8Valid(got) {
		t.Errorf("TruncateMessage gave %d bytes, valid=%v", len(got), utf8Valid(got))
	}
}

func utf8Valid(s string) bool {
	for _, r := range s {
		if r == '\uFFFD' {
			return false
		}
	}
	return true
}
