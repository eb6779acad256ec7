package providers

import (
	"net/http"
	"sync/atomic"
	"time"
)

// Observer is told about every request Do sends, every wait before a retry
// and why: the metrics hang here because Do is the one place requests,
// retries and rate-limit waits happen. main sets it once with SetObserver;
// the default does nothing.
type Observer interface {
	// Attempt: one request sent; resp is nil when no answer arrived.
	Attempt(req *http.Request, resp *http.Response, err error)
	// Retry: Do will send req again after wait because of the last
	// failure's kind (Retryable or RateLimited).
	Retry(req *http.Request, kind Kind, wait time.Duration)
}

type observerBox struct{ Observer }

var observer atomic.Pointer[observerBox]

// SetObserver makes o the observer of every later request; nil removes it.
func SetObserver(o Observer) {
	if o == nil {
		observer.Store(nil)
		return
	}
	observer.Store(&observerBox{o})
}

func observeAttempt(req *http.Request, resp *http.Response, err error) {
	if b := observer.Load(); b != nil {
		b.Attempt(req, resp, err)
	}
}

func observeRetry(req *http.Request, last error, wait time.Duration) {
	if b := observer.Load(); b != nil && req != nil {
		b.Retry(req, KindOf(last), wait)
	}
}
