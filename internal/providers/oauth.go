package providers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultTokenTTL is how long a token is kept when the token endpoint does not
// say (no expires_in). A 401 still forces a refresh, so guessing short is cheap.
const DefaultTokenTTL = 10 * time.Minute

// FetchTokenFunc obtains a fresh access token and how long it lives (0 when
// the endpoint did not say).
type FetchTokenFunc func(ctx context.Context) (token string, ttl time.Duration, err error)

// TokenSource caches one access token and refreshes it shortly before it
// expires. Concurrent callers that find the cache empty share one fetch, so a
// round of many parallel checks asks the token endpoint once.
type TokenSource struct {
	fetch FetchTokenFunc
	now   func() time.Time

	mu        sync.Mutex
	value     string
	obtained  time.Time
	refreshAt time.Time
	call      *tokenCall // the fetch in flight, if any
}

type tokenCall struct {
	done  chan struct{}
	value string
	err   error
	// abandoned: the fetch failed only because its caller gave up, so a
	// waiter with a live context should fetch again rather than fail.
	abandoned bool
}

// NewTokenSource caches the tokens fetch returns. now is the clock (nil: time.Now).
func NewTokenSource(fetch FetchTokenFunc, now func() time.Time) *TokenSource {
	if now == nil {
		now = time.Now
	}
	return &TokenSource{fetch: fetch, now: now}
}

// Token returns the cached token, fetching one when there is none or it is
// about to expire.
func (s *TokenSource) Token(ctx context.Context) (string, error) {
	for {
		s.mu.Lock()
		if s.value != "" && s.now().Before(s.refreshAt) {
			v := s.value
			s.mu.Unlock()
			return v, nil
		}
		if c := s.call; c != nil {
			s.mu.Unlock()
			select {
			case <-c.done:
				if c.abandoned && ctx.Err() == nil {
					continue
				}
				return c.value, c.err
			case <-ctx.Done():
				return "", ctx.Err()
			}
		}
		c := &tokenCall{done: make(chan struct{})}
		s.call = c
		s.mu.Unlock()

		v, ttl, err := s.fetch(ctx)

		s.mu.Lock()
		s.call = nil
		if err == nil {
			now := s.now()
			if ttl <= 0 {
				ttl = DefaultTokenTTL
			}
			s.value, s.obtained, s.refreshAt = v, now, now.Add(ttl-refreshMargin(ttl))
		}
		s.mu.Unlock()
		c.value, c.err, c.abandoned = v, err, err != nil && ctx.Err() != nil
		close(c.done)
		return v, err
	}
}

// refreshMargin: refresh a minute early, or a tenth of the lifetime for
// short-lived tokens, so a token never expires between Token and the request.
func refreshMargin(ttl time.Duration) time.Duration {
	return min(time.Minute, ttl/10)
}

// Invalidate reports whether a request refused with token stale is worth
// retrying with Token. It drops stale from the cache unless the cache already
// holds a newer token (another caller refreshed: retry with that) or stale was
// obtained less than minAge ago (a token that fresh was not refused for its
// age; refreshing would only hammer the token endpoint).
func (s *TokenSource) Invalidate(stale string, minAge time.Duration) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.value != stale {
		return true
	}
	if minAge > 0 && s.now().Sub(s.obtained) < minAge {
		return false
	}
	s.value = ""
	return true
}

// ClientCredentials fetches tokens with the OAuth2 client-credentials grant.
type ClientCredentials struct {
	Provider     string // for errors
	URL          string
	ClientIDKey  string // key of the client id in the body (default client_id)
	ClientID     string
	ClientSecret string
	Form         bool // send form-urlencoded instead of JSON
	HTTPClient   *http.Client
	Retry        Retry
}

// Fetch is a FetchTokenFunc. Refusals (4xx) are Kind Auth; 5xx and network
// failures are retried under Retry and keep Kind Retryable when they persist.
// The client secret never appears in the error.
func (cc ClientCredentials) Fetch(ctx context.Context) (string, time.Duration, error) {
	idKey := cc.ClientIDKey
	if idKey == "" {
		idKey = "client_id"
	}
	var body []byte
	ctype := "application/json"
	if cc.Form {
		ctype = "application/x-www-form-urlencoded"
		body = []byte(url.Values{
			idKey:           {cc.ClientID},
			"client_secret": {cc.ClientSecret},
			"grant_type":    {"client_credentials"},
		}.Encode())
	} else {
		var err error
		body, err = json.Marshal(map[string]string{
			idKey:           cc.ClientID,
			"client_secret": cc.ClientSecret,
			"grant_type":    "client_credentials",
		})
		if err != nil {
			return "", 0, err
		}
	}
	build := func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, cc.URL, bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", ctype)
		req.Header.Set("Accept", "application/json")
		return req, nil
	}
	check := func(resp *http.Response) error {
		if resp.StatusCode/100 == 2 {
			return nil
		}
		kind := StatusKind(resp.StatusCode)
		if kind == Permanent {
			kind = Auth // any refusal of our credentials is an auth failure
		}
		return &Error{
			Provider: cc.Provider, Op: "token", Status: resp.StatusCode, Kind: kind,
			Message:    TruncateMessage(RedactSecrets(tokenErrorMessage(ReadErrorBody(resp)), cc.ClientSecret)),
			RetryAfter: ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()),
		}
	}
	var tok struct {
		AccessToken string          `json:"access_token"`
		ExpiresIn   json.RawMessage `json:"expires_in"`
	}
	decode := func(resp *http.Response) error {
		if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
			return &Error{Provider: cc.Provider, Op: "token", Status: resp.StatusCode, Kind: Malformed, Message: "no access_token in the answer"}
		}
		return nil
	}
	if err := Do(ctx, cc.HTTPClient, cc.Retry, build, check, decode); err != nil {
		if ctx.Err() != nil {
			return "", 0, ctx.Err()
		}
		var pe *Error
		if !errors.As(err, &pe) {
			// A network failure; url.Error names only the URL, never the body.
			err = &Error{Provider: cc.Provider, Op: "token", Kind: Retryable, Err: err}
		}
		return "", 0, err
	}
	return tok.AccessToken, parseSeconds(tok.ExpiresIn), nil
}

// parseSeconds reads expires_in given as a JSON number or numeric string.
func parseSeconds(raw json.RawMessage) time.Duration {
	s := strings.Trim(string(raw), `" `)
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f <= 0 || f > 1e9 {
		return 0
	}
	return time.Duration(f * float64(time.Second))
}

// tokenErrorMessage picks the readable part of an OAuth error body.
func tokenErrorMessage(b []byte) string {
	var e struct {
		Error       any    `json:"error"`
		Description string `json:"error_description"`
		Message     any    `json:"message"`
	}
	if json.Unmarshal(b, &e) != nil {
		return string(b)
	}
	parts := []string{}
	for _, v := range []any{e.Error, e.Description, e.Message} {
		if s, ok := v.(string); ok && s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, ": ")
}

// RedactSecrets replaces every occurrence of each non-empty secret in s, for
// provider messages that might echo what we sent. Redact before truncating,
// or a cut could leave part of a secret behind.
func RedactSecrets(s string, secrets ...string) string {
	for _, sec := range secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "[redacted]")
		}
	}
	return s
}

// TruncateMessage bounds a provider message kept in errors and results.
func TruncateMessage(s string) string {
	s = strings.TrimSpace(s)
	const max = 512
	if len(s) <= max {
		return s
	}
	// Cut on a rune boundary so Arabic text stays valid UTF-8.
	cut := max
	for cut > 0 && !utf8RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
