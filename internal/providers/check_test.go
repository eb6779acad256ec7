package providers_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"syncer/internal/providers"
	"syncer/internal/testutil"
)

// TargetCheck.Send ends in one of four ways: a final answer (nil), retries
// exhausted (*Exhausted, recorded against the target), our own
// configuration broken, or the caller's context ended.
func TestTargetCheckSend(t *testing.T) {
	t.Parallel()
	retry := providers.Retry{Attempts: 3, Base: time.Millisecond, Max: time.Millisecond}
	// read takes 2xx as final and anything else as retryable.
	read := func(calls *atomic.Int32) func(*http.Response, []byte, error) providers.Answer {
		return func(resp *http.Response, body []byte, err error) providers.Answer {
			calls.Add(1)
			if err != nil || resp.StatusCode >= 500 {
				return providers.Answer{Kind: providers.Retryable, Message: string(body)}
			}
			return providers.Answer{Kind: providers.Permanent}
		}
	}
	serve := func(t *testing.T, fails int32) string {
		mux, url := testutil.Setup(t)
		var n atomic.Int32
		mux.HandleFunc("/check", func(w http.ResponseWriter, r *http.Request) {
			if n.Add(1) <= fails {
				http.Error(w, "busy", http.StatusServiceUnavailable)
				return
			}
			_, _ = w.Write([]byte(`{}`))
		})
		return url + "/check"
	}
	get := func(url string) func(context.Context) (*http.Request, error) {
		return func(ctx context.Context) (*http.Request, error) {
			return http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		}
	}
	check := providers.TargetCheck{Provider: "p", Op: "check", HTTP: &http.Client{Timeout: 2 * time.Second}, Retry: retry, ReadLimit: 1 << 10}

	t.Run("final answer after retries", func(t *testing.T) {
		t.Parallel()
		var calls atomic.Int32
		if err := check.Send(context.Background(), get(serve(t, 2)), read(&calls)); err != nil || calls.Load() != 3 {
			t.Errorf("Send = %v after %d answers; want nil after 3", err, calls.Load())
		}
	})
	t.Run("retries exhausted", func(t *testing.T) {
		t.Parallel()
		var calls atomic.Int32
		err := check.Send(context.Background(), get(serve(t, 3)), read(&calls))
		var ex *providers.Exhausted
		var pe *providers.Error
		if !errors.As(err, &ex) || !errors.As(err, &pe) || pe.Status != http.StatusServiceUnavailable || calls.Load() != 3 {
			t.Errorf("Send = %v after %d answers; want *Exhausted wrapping the last 503 after 3", err, calls.Load())
		}
	})
	t.Run("no answer at all", func(t *testing.T) {
		t.Parallel()
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close() // nothing listens: every attempt is refused
		var calls atomic.Int32
		err = check.Send(context.Background(), get("http://"+addr+"/check?account=1000000008"), read(&calls))
		var ex *providers.Exhausted
		if !errors.As(err, &ex) || calls.Load() != 0 {
			t.Fatalf("Send = %v after %d answers; want *Exhausted and no answer", err, calls.Load())
		}
		if msg := ex.Network(); msg == "" || strings.Contains(msg, "1000000008") {
			t.Errorf("Network() = %q; want the failure without the URL", msg)
		}
	})
	t.Run("our configuration broken", func(t *testing.T) {
		t.Parallel()
		bad := func(context.Context) (*http.Request, error) {
			return nil, &providers.Error{Provider: "p", Op: "check", Kind: providers.Permanent, Message: "bad check URL"}
		}
		var calls atomic.Int32
		err := check.Send(context.Background(), bad, read(&calls))
		var ex *providers.Exhausted
		if err == nil || errors.As(err, &ex) {
			t.Errorf("Send = %v; want the build error, not *Exhausted", err)
		}
	})
	t.Run("context cancelled", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		var calls atomic.Int32
		if err := check.Send(ctx, get(serve(t, 0)), read(&calls)); !errors.Is(err, context.Canceled) {
			t.Errorf("Send = %v; want context.Canceled", err)
		}
	})
}
