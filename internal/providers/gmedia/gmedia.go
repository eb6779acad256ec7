// Package gmedia is the client of Gmedia's CheckMawathoq API, which says
// whether a social-media account's operator holds a Mawthoq licence.
package gmedia

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"syncer/internal/providers"
)

const provider = "gmedia"

// Credentials are what Gmedia's token endpoint takes (OAuth2 client
// credentials). They are grouped so a call site names each of them.
type Credentials struct {
	TokenURL     string
	ClientID     string
	ClientSecret string
}

// Client checks licences. It is safe for concurrent use: parallel checks share
// one cached token.
type Client struct {
	checkURL    string
	method      string
	clientIDKey string
	hc          *http.Client
	retry       providers.Retry
	now         func() time.Time
	secret      string
	tokens      *providers.TokenSource
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

// WithCheckMethod sets how the check is sent: POST (default) with a JSON
// body, or GET with query parameters.
func WithCheckMethod(m string) Option {
	return func(c *Client) {
		if m = strings.ToUpper(strings.TrimSpace(m)); m != "" {
			c.method = m
		}
	}
}

// WithClientIDKey sets the JSON key of the client id in the token request
// (default client_id; the spec's sample says clienr_id).
func WithClientIDKey(k string) Option { return func(c *Client) { c.clientIDKey = k } }

// New returns a Client that checks at checkURL with a token obtained with
// creds. It fetches no token until the first check.
func New(checkURL string, creds Credentials, opts ...Option) *Client {
	c := &Client{
		checkURL: checkURL,
		method:   http.MethodPost,
		hc:       &http.Client{Timeout: 15 * time.Second},
		retry:    providers.DefaultRetry,
		now:      time.Now,
		secret:   creds.ClientSecret,
	}
	for _, o := range opts {
		o(c)
	}
	cc := providers.ClientCredentials{
		Provider:     provider,
		URL:          creds.TokenURL,
		ClientIDKey:  c.clientIDKey,
		ClientID:     creds.ClientID,
		ClientSecret: creds.ClientSecret,
		HTTPClient:   c.hc,
		Retry:        c.retry,
	}
	c.tokens = providers.NewTokenSource(cc.Fetch, c.now)
	return c
}

// Outcome is what a check established about a licence.
type Outcome string

const (
	Found         Outcome = "found"          // Gmedia returned the licence
	NotFound      Outcome = "not_found"      // no licence for this account and platform
	Invalid       Outcome = "invalid"        // the platform or account was refused (by us or by Gmedia)
	ProviderError Outcome = "provider_error" // Gmedia failed or could not be reached, after retries
)

// Result is one check of one account.
type Result struct {
	Outcome    Outcome
	Status     string          // the payload's "status" (active, expired, suspended) when present
	Payload    json.RawMessage // the raw 200 body, only for Found and at most MaxPayload bytes
	HTTPStatus int             // of the last response; 0 when none arrived or we did not send
	Code       string          // Gmedia's statusCode/code, when the body had one
	Message    string          // Gmedia's message, or why we did not send or could not read
}

// MaxPayload bounds the body kept in Result.Payload. A larger 200 body is
// still Found but its payload is not kept.
const MaxPayload = 64 << 10
