package testutil

import (
	"fmt"
	"io"
	"net/http"
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
