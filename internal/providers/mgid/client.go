// Package mgid is the client of the MGID agency API: the agency's own
// balances, its clients' wallets and spend, and transfers from the agency
// wallet to a client's wallet.
package mgid

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"syncer/internal/providers"
)

const (
	provider = "mgid"
	opLogin  = "login"
	// maxSmallBody bounds the answers read whole (login, one client, the
	// agency, a transfer); the clients list and spend report are streamed.
	maxSmallBody = 1 << 20
)

// Limits on what a streamed answer (the clients list, a spend report) may
// hold. Passing one fails the request as Malformed, without a retry: the
// provider would send the same again. They are checked while the bytes
// arrive, so memory stays bounded whatever the provider sends.
const (
	// MaxListBody bounds a whole streamed answer: over a million clients.
	MaxListBody = 256 << 20
	// MaxListEntry bounds one list entry (or any one token of the answer).
	MaxListEntry = 64 << 10
	// MaxEmail bounds a client's email (RFC 5321 allows 254 bytes).
	MaxEmail = 1024
)

// Client talks to one agency's account. It is safe for concurrent use.
type Client struct {
	base     string
	login    string
	name     string // the configured name an operator knows the agency by
	password string
	hc       *http.Client
	retry    providers.Retry
	log      *slog.Logger

	mu     sync.Mutex
	sess   *session
	flight *loginFlight // the login in progress, shared by concurrent callers
}

// session is what a login yields. A new login makes a new *session, so a
// caller can tell whether the token it saw refused is still the current one.
type session struct {
	token     string
	accountID int64
}

type loginFlight struct {
	done chan struct{}
	sess *session
	err  error
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client; it should have a Timeout. Note that
// the Timeout covers reading the whole body, and the clients list is read
// while the caller's callback runs.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.hc = hc
		}
	}
}

// WithRetry sets the retry policy of the read endpoints and the login. A
// transfer is only ever retried when no connection was obtained.
func WithRetry(r providers.Retry) Option { return func(c *Client) { c.retry = r } }

// WithLogger sets the logger used outside a run (default: discard). Within
// a run the client logs through the run's logger that the context carries
// (providers.Logger), so its lines have the run's job and run_id.
func WithLogger(l *slog.Logger) Option {
	return func(c *Client) {
		if l != nil {
			c.log = l
		}
	}
}

// WithName sets the agency's configured name (default its login): what
// syncer reports the agency's outcome under.
func WithName(name string) Option {
	return func(c *Client) {
		if name != "" {
			c.name = name
		}
	}
}

// New returns a client for the agency with this login at baseURL (e.g.
// https://api.mgid.com). It does not log in until the first call.
func New(baseURL, login string, password string, opts ...Option) *Client {
	c := &Client{
		base:     strings.TrimRight(baseURL, "/"),
		login:    login,
		name:     login,
		password: password,
		hc:       &http.Client{Timeout: 30 * time.Second},
		retry:    providers.DefaultRetry,
		log:      slog.New(slog.DiscardHandler),
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// logger is the run's logger when ctx carries one, else the client's own,
// with the agency's login added unless that logger names the agency already
// (a job's per-agency logger: providers.WithAccountLogger).
func (c *Client) logger(ctx context.Context) *slog.Logger {
	l := providers.Logger(ctx, c.log)
	if providers.NamesAccount(ctx) {
		return l
	}
	return l.With("login", c.login)
}

// Login is the agency's login.
func (c *Client) Login() string { return c.login }

// Name is the agency's configured name (its login unless WithName).
func (c *Client) Name() string { return c.name }

// String keeps the password out of anything that formats the client.
func (c *Client) String() string { return "mgid client for " + c.login }

// AccountID is the agency's account id, logging in if needed.
func (c *Client) AccountID(ctx context.Context) (int64, error) {
	s, err := c.session(ctx, nil)
	if err != nil {
		return 0, err
	}
	return s.accountID, nil
}

// session returns the current session, logging in when there is none or when
// the current one is stale (its token was refused). Concurrent callers share
// one login.
func (c *Client) session(ctx context.Context, stale *session) (*session, error) {
	for {
		c.mu.Lock()
		if s := c.sess; s != nil && s != stale {
			c.mu.Unlock()
			return s, nil
		}
		f := c.flight
		leader := f == nil
		if leader {
			f = &loginFlight{done: make(chan struct{})}
			c.flight = f
		}
		c.mu.Unlock()

		if leader {
			c.lead(ctx, f)
			return f.sess, f.err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-f.done:
		}
		if f.err == nil {
			return f.sess, nil
		}
		// The leader's own context ended its login, not the provider: try
		// again with ours rather than fail for someone else's cancellation.
		if isContextErr(f.err) && ctx.Err() == nil {
			continue
		}
		return nil, f.err
	}
}

// lead runs the login of flight f and publishes its result; the deferred
// close means waiters are released even if the login panics.
func (c *Client) lead(ctx context.Context, f *loginFlight) {
	defer close(f.done)
	defer func() {
		c.mu.Lock()
		if f.err == nil && f.sess != nil {
			c.sess = f.sess
		}
		c.flight = nil
		c.mu.Unlock()
	}()
	f.err = errors.New("mgid login did not complete") // what waiters see if logIn panics
	f.sess, f.err = c.logIn(ctx)
}

func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

func (c *Client) logIn(ctx context.Context) (*session, error) {
	form := url.Values{"login": {c.login}, "password": {c.password}}.Encode()
	var s *session
	err := providers.Do(ctx, c.hc, c.retry,
		func(ctx context.Context) (*http.Request, error) {
			// The credentials go in the body, never the URL, so no
			// transport error (which quotes the URL) can carry them.
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/v1/auth/agencies-token", strings.NewReader(form))
			if err != nil {
				return nil, err
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Accept", "application/json")
			return req, nil
		},
		c.checkResponse(opLogin),
		func(resp *http.Response) error {
			var err error
			s, err = c.decodeLogin(resp)
			return err
		})
	if err != nil {
		if isContextErr(err) && ctx.Err() != nil {
			// Cancelled by the caller (a sibling agency's failure, a
			// shutdown, the run's deadline): the run reports the cause
			// once; a WARN per cancelled login was noise beside it.
			c.logger(ctx).DebugContext(ctx, "mgid login cancelled", "err", err)
		} else {
			c.logger(ctx).WarnContext(ctx, "mgid login failed", "err", err)
		}
		return nil, c.wrap(ctx, opLogin, err)
	}
	c.logger(ctx).InfoContext(ctx, "mgid logged in", "account_id", s.accountID)
	return s, nil
}

// authed runs send with a valid session. When the provider refuses the token
// (HTTP 401 or "invalid token": expired or revoked), it logs in again once
// and sends once more, provided resend (when not nil) agrees.
func (c *Client) authed(ctx context.Context, op string, resend func() bool, send func(*session) error) error {
	s, err := c.session(ctx, nil)
	if err != nil {
		return err
	}
	err = send(s)
	if !tokenRefused(err) || (resend != nil && !resend()) {
		return c.wrap(ctx, op, err)
	}
	c.logger(ctx).WarnContext(ctx, "mgid token refused, logging in again", "op", op)
	if s, err = c.session(ctx, s); err != nil {
		return err
	}
	return c.wrap(ctx, op, send(s))
}

// tokenRefused reports whether err is the provider refusing our token, as
// opposed to the login itself failing or a request that may have been applied.
func tokenRefused(err error) bool {
	var pe *providers.Error
	var ce callerError
	if err == nil || errors.As(err, &ce) || !errors.As(err, &pe) || errors.Is(err, providers.ErrMaybeSent) {
		return false
	}
	return pe.Op != opLogin && pe.Kind == providers.Auth &&
		(pe.Status == http.StatusUnauthorized || isInvalidToken(pe.Message))
}

func isInvalidToken(msg string) bool {
	return strings.Contains(strings.ToLower(msg), "invalid token")
}

// wrap names the operation on errors that do not already carry it; provider
// errors and our context's own error pass through unchanged.
func (c *Client) wrap(ctx context.Context, op string, err error) error {
	var pe *providers.Error
	var ce callerError
	switch {
	case err == nil, errors.As(err, &pe), errors.As(err, &ce):
		return err
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		return err
	}
	return fmt.Errorf("%s %s: %w", provider, op, err)
}

// newRequest builds an authenticated request; pathQuery is relative to the base URL.
func (c *Client) newRequest(ctx context.Context, method, pathQuery, token string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+pathQuery, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	return req, nil
}

// get sends a GET with the session's token (retried per the policy) and
// hands a 2xx answer to decode.
func (c *Client) get(ctx context.Context, op, pathQuery string, resend func() bool, decode func(*http.Response) error) error {
	return c.authed(ctx, op, resend, func(s *session) error {
		return providers.Do(ctx, c.hc, c.retry,
			func(ctx context.Context) (*http.Request, error) {
				return c.newRequest(ctx, http.MethodGet, pathQuery, s.token)
			},
			c.checkResponse(op), decode)
	})
}

// checkResponse turns a non-2xx answer into a *providers.Error. A 2xx is left
// unread for the caller's decode.
func (c *Client) checkResponse(op string) providers.CheckFunc {
	return func(resp *http.Response) error {
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			return nil
		}
		body := providers.ReadErrorBody(resp)
		if resp.Request != nil {
			if err := resp.Request.Context().Err(); err != nil {
				return err
			}
		}
		return c.apiError(op, resp.StatusCode, resp.Header, errorMessage(body))
	}
}

// apiError builds the error for a refusal: a non-2xx status, or a 2xx whose
// body carries "errors".
func (c *Client) apiError(op string, status int, h http.Header, msg string) *providers.Error {
	e := &providers.Error{
		Provider: provider,
		Op:       op,
		Status:   status,
		Kind:     providers.StatusKind(status),
		Message:  c.redact(msg),
	}
	switch {
	case op == opLogin && (status == http.StatusBadRequest || status == http.StatusUnauthorized || status == http.StatusForbidden):
		// "Login does not exist", "Incorrect password.": retrying cannot help.
		e.Kind = providers.Auth
	case op == opLogin && status >= 200 && status < 300:
		e.Kind = providers.Auth
	case isInvalidToken(msg):
		e.Kind = providers.Auth
	}
	if e.Kind == providers.Permanent {
		e.Reason = Refusal(msg)
	}
	if h != nil && (status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable) {
		e.RetryAfter = providers.ParseRetryAfter(h.Get("Retry-After"), time.Now())
	}
	return e
}

// redact removes our secrets from a provider's text, in case it echoes the
// request back.
func (c *Client) redact(msg string) string {
	if len(c.password) >= 4 {
		msg = strings.ReplaceAll(msg, c.password, "[redacted]")
	}
	c.mu.Lock()
	s := c.sess
	c.mu.Unlock()
	if s != nil && len(s.token) >= 4 {
		msg = strings.ReplaceAll(msg, s.token, "[redacted]")
	}
	return msg
}

// readSmall reads a 2xx body that is read whole, bounded by maxSmallBody.
func (c *Client) readSmall(op string, resp *http.Response) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxSmallBody+1))
	if err != nil {
		return nil, &providers.Error{Provider: provider, Op: op, Status: resp.StatusCode, Kind: providers.Retryable, Err: fmt.Errorf("%w: reading body: %w", providers.ErrUnreadable, err)}
	}
	if len(b) > maxSmallBody {
		return nil, c.malformed(op, resp.StatusCode, fmt.Errorf("answer larger than %d bytes", maxSmallBody))
	}
	return b, nil
}

func (c *Client) malformed(op string, status int, err error) *providers.Error {
	return &providers.Error{Provider: provider, Op: op, Status: status, Kind: providers.Malformed, Err: err}
}
