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

// Config is what New needs. Zero values get the defaults noted.
type Config struct {
	TokenURL     string
	CheckURL     string
	CheckMethod  string // POST (default): JSON body; GET: query parameters
	ClientIDKey  string // JSON key of the client id in the token request (default client_id; the spec's sample says clienr_id)
	ClientID     string
	ClientSecret string
	HTTPClient   *http.Client    // default: a client with a 15s timeout
	Retry        providers.Retry // default providers.DefaultRetry
	Now          func() time.Time
}

// Client checks licences. It is safe for concurrent use: parallel checks share
// one cached token.
type Client struct {
	checkURL string
	method   string
	hc       *http.Client
	retry    providers.Retry
	now      func() time.Time
	secret   string
	tokens   *providers.TokenSource
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
	method := strings.ToUpper(strings.TrimSpace(c.CheckMethod))
	if method == "" {
		method = http.MethodPost
	}
	cc := providers.ClientCredentials{
		Provider:     provider,
		URL:          c.TokenURL,
		ClientIDKey:  c.ClientIDKey,
		ClientID:     c.ClientID,
		ClientSecret: c.ClientSecret,
		HTTPClient:   c.HTTPClient,
		Retry:        c.Retry,
	}
	return &Client{
		checkURL: c.CheckURL,
		method:   method,
		hc:       c.HTTPClient,
		retry:    c.Retry,
		now:      c.Now,
		secret:   c.ClientSecret,
		tokens:   providers.NewTokenSource(cc.Fetch, c.Now),
	}
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
