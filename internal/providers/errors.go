// Package providers is the HTTP plumbing every provider client shares: the
// typed error, the one retry loop with capped jittered backoff, and the rule
// that a request which moves money is never sent twice.
package providers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"
)

// Kind says what a caller may do about a failed request.
type Kind int

const (
	// Permanent: the provider refused the request; retrying will not help.
	Permanent Kind = iota
	// Retryable: 5xx, network trouble, a timeout.
	Retryable
	// RateLimited: 429; RetryAfter says how long the provider asked us to wait.
	RateLimited
	// Auth: credentials or token refused.
	Auth
	// Malformed: the provider answered 2xx with a body we cannot read.
	Malformed
)

func (k Kind) String() string {
	switch k {
	case Retryable:
		return "retryable"
	case RateLimited:
		return "rate_limited"
	case Auth:
		return "auth"
	case Malformed:
		return "malformed"
	}
	return "permanent"
}

// Error is a failed provider request. Message is the provider's own text (never
// a secret of ours); Op names the endpoint.
type Error struct {
	Provider   string
	Op         string
	Status     int // HTTP status, 0 when no response arrived
	Kind       Kind
	Code       string // provider error code, when the body has one
	Message    string
	RetryAfter time.Duration
	Err        error
	// Reason is what the provider's client made of Message, when it knows
	// the wording (mgid.ErrInsufficientFunds): errors.Is matches it, so no
	// caller matches a provider's English. It is not printed; Message is.
	Reason error
}

func (e *Error) Error() string {
	s := e.Provider + " " + e.Op
	if e.Status != 0 {
		s += fmt.Sprintf(": HTTP %d", e.Status)
	}
	if e.Code != "" {
		s += " code " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Is matches Reason, as go-github's typed errors are matched.
func (e *Error) Is(target error) bool { return e.Reason != nil && errors.Is(e.Reason, target) }

// ErrUnreadable marks a 2xx answer whose body could not be read: the
// connection broke mid-body, the JSON stops short, or it is not JSON at all
// (an HTML page a proxy sent with 200). Do retries such a decode failure like
// a 5xx, within the same budget. A body that reads to its end but says
// something impossible (a duplicate id, NaN, a field over its limit) is
// Malformed without it: sending again would bring the same answer.
var ErrUnreadable = errors.New("answer could not be read")

// KindOf returns the Kind of a provider error, Retryable for network errors and
// Permanent for anything else.
func KindOf(err error) Kind {
	var pe *Error
	if errors.As(err, &pe) {
		return pe.Kind
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return Retryable
	}
	return Permanent
}

// Class is the short error class recorded with a failed run: cancelled,
// timeout, auth, rate_limited, retryable (provider 5xx or network), malformed,
// permanent (provider 4xx), or internal (our own bug or the database).
func Class(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	var pe *Error
	if errors.As(err, &pe) {
		return pe.Kind.String()
	}
	var ne net.Error
	if errors.As(err, &ne) {
		if ne.Timeout() {
			return "timeout"
		}
		return "retryable"
	}
	return "internal"
}
