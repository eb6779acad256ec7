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

// Config is what New needs. The IAM token is static (IAMToken) or obtained
// with client credentials (TokenURL, ClientID, ClientSecret); TokenURL wins
// when both are set, because a fetched token can be refreshed.
type Config struct {
	URL           string // full URL of …/media/content/checkredeem
	IAMToken      string
	TokenURL      string
	ClientID      string
	ClientSecret  string
	HTTPClient    *http.Client    // default: a client with a 15s timeout
	Retry         providers.Retry // default providers.DefaultRetry
	Now           func() time.Time
	NewTrackingID func() string // default uuid.NewString
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

// New returns a Client for c.
func New(c Config) *Client {
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: 15 * time.Second}
	}
	if c.Retry.Attempts == 0 {
		c.Retry = providers.DefaultRetry
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.NewTrackingID == nil {
		c.NewTrackingID = uuid.NewString
	}
	cl := &Client{
		url:        c.URL,
		hc:         c.HTTPClient,
		retry:      c.Retry,
		now:        c.Now,
		trackingID: c.NewTrackingID,
		secrets:    []string{c.IAMToken, c.ClientSecret},
	}
	if c.TokenURL != "" {
		cc := providers.ClientCredentials{
			Provider:     provider,
			URL:          c.TokenURL,
			ClientID:     c.ClientID,
			ClientSecret: c.ClientSecret,
			Form:         true, // the usual OAuth2 encoding; the spec does not say
			HTTPClient:   c.HTTPClient,
			Retry:        c.Retry,
		}
		cl.tokens = providers.NewTokenSource(cc.Fetch, c.Now)
	} else {
		cl.static = c.IAMToken
	}
	return cl
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
