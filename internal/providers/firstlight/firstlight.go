// Package firstlight is the client of Firstlight's checkredeem API, which says
// whether a user may redeem (play or download) a piece of content.
package firstlight

import (
	"net/http"
	"time"

	"github.com/google/uuid"

	"syncer/internal/providers"
)

const provider = "firstlight"

// Credentials say how the IAM token is had: static (IAMToken) or obtained
// with client credentials (TokenURL, ClientID, ClientSecret). TokenURL wins
// when both are set, because a fetched token can be refreshed.
type Credentials struct {
	IAMToken     string
	TokenURL     string
	ClientID     string
	ClientSecret string
}

// Client checks redeemability. It is safe for concurrent use.
type Client struct {
	url        string
	static     string
	tokens     *providers.TokenSource // nil with a static IAM token
	hc         *http.Client
	retry      providers.Retry
	now        func() time.Time
	trackingID func() string
	secrets    []string // ours, redacted from provider messages
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client (default: one with a 15s timeout); it
// should have a Timeout.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.hc = hc
		}
	}
}

// WithRetry sets the retry policy of the check and the token fetch
// (default providers.DefaultRetry).
func WithRetry(r providers.Retry) Option {
	return func(c *Client) {
		if r.Attempts != 0 {
			c.retry = r
		}
	}
}

// WithClock sets the clock that ages tokens and reads Retry-After dates.
func WithClock(now func() time.Time) Option {
	return func(c *Client) {
		if now != nil {
			c.now = now
		}
	}
}

// WithTrackingIDs sets what makes each request's X-Tracking-Id (default uuid.NewString).
func WithTrackingIDs(next func() string) Option {
	return func(c *Client) {
		if next != nil {
			c.trackingID = next
		}
	}
}

// New returns a Client that checks at redeemURL (the full URL of
// …/media/content/checkredeem) with the IAM token creds give.
func New(redeemURL string, creds Credentials, opts ...Option) *Client {
	c := &Client{
		url:        redeemURL,
		hc:         &http.Client{Timeout: 15 * time.Second},
		retry:      providers.DefaultRetry,
		now:        time.Now,
		trackingID: uuid.NewString,
		secrets:    []string{creds.IAMToken, creds.ClientSecret},
	}
	for _, o := range opts {
		o(c)
	}
	if creds.TokenURL != "" {
		cc := providers.ClientCredentials{
			Provider:     provider,
			URL:          creds.TokenURL,
			ClientID:     creds.ClientID,
			ClientSecret: creds.ClientSecret,
			Form:         true, // the usual OAuth2 encoding; the spec does not say
			HTTPClient:   c.hc,
			Retry:        c.retry,
		}
		c.tokens = providers.NewTokenSource(cc.Fetch, c.now)
	} else {
		c.static = creds.IAMToken
	}
	return c
}

// Outcome is what a check established.
type Outcome string

const (
	Entitled       Outcome = "entitled"        // 200: the user may redeem the content
	NotEntitled    Outcome = "not_entitled"    // 40400140
	AuthFailed     Outcome = "auth_failed"     // 40400101, or 401/403 without a known code
	InvalidRequest Outcome = "invalid_request" // 40400102–40400121, or refused before sending
	ProviderError  Outcome = "provider_error"  // 40400190/40400191, 5xx or network, after retries
)

// Result is one check. It never holds the user token.
type Result struct {
	Outcome     Outcome
	Code        string // header.errors[].code, when the body had one
	Description string // its description (or why we did not send)
	HTTPStatus  int    // of the last response; 0 when none arrived or we did not send
	TrackingID  string // the X-Tracking-Id of the last request sent
}
