package testutil

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestClock(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	c := NewClock(t0)
	if got := c.Now(); !got.Equal(t0) {
		t.Fatalf("Now = %v, want %v", got, t0)
	}
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() { c.Advance(time.Minute); _ = c.Now() })
	}
	wg.Wait()
	if got, want := c.Now(), t0.Add(10*time.Minute); !got.Equal(want) {
		t.Errorf("after ten concurrent minutes Now = %v, want %v", got, want)
	}
}

func TestLockedBuffer(t *testing.T) {
	t.Parallel()
	var b LockedBuffer
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() { fmt.Fprintf(&b, "line %d\n", i); _ = b.String() })
	}
	wg.Wait()
	if n := strings.Count(b.String(), "\n"); n != 50 {
		t.Errorf("%d lines, want 50", n)
	}
}

func TestSetupServesUntilTheTestEnds(t *testing.T) {
	t.Parallel()
	c := &http.Client{Timeout: 5 * time.Second}
	var base string
	t.Run("inner", func(t *testing.T) {
		var mux *http.ServeMux
		mux, base = Setup(t)
		mux.HandleFunc("GET /v1/ping", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "pong") })
		resp, err := c.Get(base + "/v1/ping")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if b, _ := io.ReadAll(resp.Body); string(b) != "pong" {
			t.Errorf("body %q, want pong", b)
		}
	})
	if resp, err := c.Get(base + "/v1/ping"); err == nil {
		resp.Body.Close()
		t.Errorf("the server still answers after its test ended (HTTP %d)", resp.StatusCode)
	}
}

// A barrier lets its parties through together, and a party whose context
// ends stops waiting with the context's error instead of hanging.
func TestBarrier(t *testing.T) {
	t.Parallel()
	t.Run("all arrive", func(t *testing.T) {
		t.Parallel()
		b := NewBarrier(3)
		errs := make(chan error, 3)
		for range 3 {
			go func() { errs <- b.Arrive(context.Background()) }()
		}
		for range 3 {
			if err := Receive(t, errs, 10*time.Second, "a party through the barrier"); err != nil {
				t.Errorf("Arrive: %v", err)
			}
		}
	})
	t.Run("one missing", func(t *testing.T) {
		t.Parallel()
		b := NewBarrier(2)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		if err := b.Arrive(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Arrive alone = %v, want the context's deadline", err)
		}
	})
}

// Receive returns what arrives, and fails the test (here a fake TB that
// records the failure) when nothing does.
func TestReceive(t *testing.T) {
	t.Parallel()
	ch := make(chan int, 1)
	ch <- 7
	if got := Receive(t, ch, time.Second, "the value"); got != 7 {
		t.Errorf("Receive = %d, want 7", got)
	}
	ft := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		Receive(ft, make(chan int), 10*time.Millisecond, "nothing")
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Receive on a silent channel did not give up")
	}
	if !strings.Contains(ft.msg, "waited 10ms for nothing") {
		t.Errorf("Receive on a silent channel reported %q", ft.msg)
	}
}

// fatalTB records Fatalf and ends the goroutine, as testing.T does.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Helper() {}
func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
