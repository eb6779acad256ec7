package providers

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"time"
)

// TargetCheck is the loop the licence and entitlement checks share (Gmedia's
// CheckMawathoq, Firstlight's checkredeem): send, read the answer, retry what
// may pass next time, and when retries run out record the failure against
// the one target checked instead of failing the whole round. What an answer
// means stays with each client, in the read function it passes to Send.
type TargetCheck struct {
	Provider  string
	Op        string
	HTTP      *http.Client
	Retry     Retry
	Now       func() time.Time // for an HTTP-date Retry-After
	ReadLimit int64            // bytes of an answer read; the rest is left unread
}

// Answer is what a client's read made of one response.
type Answer struct {
	Kind    Kind // Retryable or RateLimited: ask again; any other kind is final
	Code    string
	Message string
}

// Exhausted is Send's error when no attempt got a final answer: the failure
// belongs to this target, and the caller records it as the provider failing.
type Exhausted struct{ Err error }

func (e *Exhausted) Error() string { return "retries exhausted: " + e.Err.Error() }
func (e *Exhausted) Unwrap() error { return e.Err }

// Network describes the last failure when no answer arrived at all, without
// the request URL (a GET's query may carry an account number).
func (e *Exhausted) Network() string { return networkMessage(e.Err) }

// Send sends build's request (built afresh per attempt) until read calls an
// answer final. read gets each response with at most ReadLimit bytes of its
// body; readErr is set when the body could not be read, and such a response
// is retried whatever read says. Send returns nil when read took a final
// answer, *Exhausted when retries ran out, and otherwise the context's error
// or the build error that means our own configuration is broken (every
// target would fail alike).
func (t TargetCheck) Send(ctx context.Context, build func(context.Context) (*http.Request, error), read func(resp *http.Response, body []byte, readErr error) Answer) error {
	check := func(resp *http.Response) error {
		body, err := io.ReadAll(io.LimitReader(resp.Body, t.ReadLimit))
		ans := read(resp, body, err)
		if err != nil {
			return &Error{Provider: t.Provider, Op: t.Op, Status: resp.StatusCode, Kind: Retryable, Err: err}
		}
		if ans.Kind != Retryable && ans.Kind != RateLimited {
			return nil // a final answer, whatever the status: read recorded it
		}
		now := time.Now
		if t.Now != nil {
			now = t.Now
		}
		return &Error{
			Provider: t.Provider, Op: t.Op, Status: resp.StatusCode, Kind: ans.Kind,
			Code: ans.Code, Message: ans.Message,
			RetryAfter: ParseRetryAfter(resp.Header.Get("Retry-After"), now()),
		}
	}
	err := Do(ctx, t.HTTP, t.Retry, build, check, func(*http.Response) error { return nil })
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var pe *Error
	if errors.As(err, &pe) && pe.Status == 0 && pe.Kind == Permanent {
		return err // our own configuration is broken: every target would fail
	}
	return &Exhausted{Err: err}
}

// networkMessage describes a transport failure without the URL.
func networkMessage(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Op + ": " + ue.Err.Error()
	}
	var pe *Error
	if errors.As(err, &pe) && pe.Err != nil {
		return networkMessage(pe.Err)
	}
	return err.Error()
}
