package providers

import (
	"net/http"
	"time"
)

// Observer is told about every request a provider client sends, every wait
// before a retry and why. It hangs on the client's *http.Client as a
// Transport (main passes it in), not on a package global: a client built
// without one, as in most tests, is observed by nobody.
type Observer interface {
	// Attempt: one request sent; resp is nil when no answer arrived.
	Attempt(req *http.Request, resp *http.Response, err error)
	// Retry: Do will send req again after wait because of the last
	// failure's kind (Retryable or RateLimited).
	Retry(req *http.Request, kind Kind, wait time.Duration)
}

// Transport is an http.RoundTripper that tells Observer about each request
// it sends. Do tells the same Observer about its retries, which only Do
// decides.
type Transport struct {
	Base     http.RoundTripper // nil: http.DefaultTransport
	Observer Observer
}

// RoundTrip sends req through Base and reports the attempt.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(req)
	if t.Observer != nil {
		t.Observer.Attempt(req, resp, err)
	}
	return resp, err
}

// Observed is a copy of hc whose requests o hears about; hc itself is left
// alone. A nil o gives hc back.
func Observed(hc *http.Client, o Observer) *http.Client {
	if o == nil {
		return hc
	}
	c := *hc
	c.Transport = &Transport{Base: hc.Transport, Observer: o}
	return &c
}

// observeRetry tells hc's Observer, if it has one, that req will be sent again.
func observeRetry(hc *http.Client, req *http.Request, last error, wait time.Duration) {
	if t, ok := hc.Transport.(*Transport); ok && t.Observer != nil && req != nil {
		t.Observer.Retry(req, KindOf(last), wait)
	}
}
