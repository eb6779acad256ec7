package providers

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"time"
)

// Retry is a retry policy: Attempts tries in all, waiting Base, 2*Base, ...
// capped at Max, with full jitter.
type Retry struct {
	Attempts int
	Base     time.Duration
	Max      time.Duration
}

// DefaultRetry suits the read endpoints of all three providers.
var DefaultRetry = Retry{Attempts: 4, Base: 200 * time.Millisecond, Max: 5 * time.Second}

// NoRetry sends once.
var NoRetry = Retry{Attempts: 1}

// CheckFunc turns a response into nil or an *Error. It must not close the body
// on success: the caller's decode reads it.
type CheckFunc func(*http.Response) error

// Do sends the request that build makes, retrying Retryable and RateLimited
// failures under policy, and 2xx answers whose decode failed with
// ErrUnreadable (all attempts count against the one budget). On success it
// calls decode with the response (the body is closed afterwards). build is called once per attempt so bodies are
// fresh. A cancelled context ends the loop with the context's error.
func Do(ctx context.Context, hc *http.Client, policy Retry, build func(context.Context) (*http.Request, error), check CheckFunc, decode func(*http.Response) error) error {
	return do(ctx, hc, policy, false, build, check, decode)
}

// DoOnce sends a request that must never reach the provider twice (it moves
// money). It is retried only when it failed before a connection was obtained
// (dial refused, DNS, TLS handshake), because only then is it certain that no
// byte was sent. Any other failure returns an error satisfying MaybeSent.
func DoOnce(ctx context.Context, hc *http.Client, policy Retry, build func(context.Context) (*http.Request, error), check CheckFunc, decode func(*http.Response) error) error {
	return do(ctx, hc, policy, true, build, check, decode)
}

// ErrMaybeSent marks a failure after which the provider may have acted on the request.
var ErrMaybeSent = errors.New("request may have reached the provider")

type maybeSentError struct{ err error }

func (e *maybeSentError) Error() string { return e.err.Error() + " (" + ErrMaybeSent.Error() + ")" }
func (e *maybeSentError) Unwrap() []error {
	return []error{e.err, ErrMaybeSent}
}

func do(ctx context.Context, hc *http.Client, policy Retry, once bool, build func(context.Context) (*http.Request, error), check CheckFunc, decode func(*http.Response) error) error {
	if policy.Attempts < 1 {
		policy.Attempts = 1
	}
	var last error
	var lastReq *http.Request
	for attempt := 0; attempt < policy.Attempts; attempt++ {
		if attempt > 0 {
			wait := backoff(policy, attempt, last)
			observeRetry(hc, lastReq, last, wait)
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
		}
		sent := false
		reqCtx := ctx
		if once {
			reqCtx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
				GotConn: func(httptrace.GotConnInfo) { sent = true },
			})
		}
		req, err := build(reqCtx)
		if err != nil {
			return err
		}
		resp, err := hc.Do(req)
		lastReq = req
		if err != nil {
			if ctx.Err() != nil {
				if once && sent {
					return &maybeSentError{ctx.Err()}
				}
				return ctx.Err()
			}
			if once && sent {
				return &maybeSentError{err}
			}
			last = err
			continue
		}
		err = check(resp)
		if err == nil {
			err = decode(resp)
			// Drain so the connection is reused.
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
			if err != nil && once {
				// The provider answered 2xx: it acted; we just cannot read it.
				return &maybeSentError{err}
			}
			if err != nil && ctx.Err() != nil {
				return ctx.Err()
			}
			if err != nil && errors.Is(err, ErrUnreadable) {
				// A 2xx cut short or not the JSON it should be (a proxy's
				// page): as good as a 5xx, so it spends the same budget.
				last = err
				continue
			}
			return err
		}
		resp.Body.Close()
		if once {
			// The provider answered, so it is never resent. A 5xx may still
			// have been applied before the provider failed: say so.
			if resp.StatusCode >= 500 {
				return &maybeSentError{err}
			}
			return err
		}
		k := KindOf(err)
		if k != Retryable && k != RateLimited {
			return err
		}
		last = err
	}
	return last
}

func backoff(p Retry, attempt int, last error) time.Duration {
	var pe *Error
	if errors.As(last, &pe) && pe.RetryAfter > 0 {
		if p.Max > 0 && pe.RetryAfter > 4*p.Max {
			return 4 * p.Max // a provider asking for an hour should not stall a run
		}
		return pe.RetryAfter
	}
	d := p.Base << (attempt - 1)
	if p.Max > 0 && (d > p.Max || d <= 0) {
		d = p.Max
	}
	if d <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(d)) + 1) // full jitter
}

// ParseRetryAfter reads a Retry-After header in seconds or as an HTTP date.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// ReadErrorBody reads at most 64 KiB of an error body: enough for any message,
// bounded so a misbehaving provider cannot exhaust memory.
func ReadErrorBody(resp *http.Response) []byte {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return b
}

// StatusKind is the default Kind for an HTTP error status.
func StatusKind(status int) Kind {
	switch {
	case status == http.StatusTooManyRequests:
		return RateLimited
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return Auth
	case status >= 500:
		return Retryable
	}
	return Permanent
}
