package gmedia

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"syncer/internal/providers"
)

const opCheck = "CheckMawathoq"

// readLimit bounds what is read of any answer; only MaxPayload of it is kept.
const readLimit = 1 << 20

// Check asks Gmedia about one account on one platform. Every answer about the
// account, including Gmedia failing after retries, is a Result with a nil
// error, so one bad target does not end a round. The error is only for a
// cancelled context or credentials that a token refresh did not fix.
func (c *Client) Check(ctx context.Context, platform, account string) (Result, error) {
	p, err := NormalizePlatform(platform)
	if err != nil {
		return Result{Outcome: Invalid, Message: err.Error()}, nil
	}
	if err := ValidateAccount(account); err != nil {
		return Result{Outcome: Invalid, Message: err.Error()}, nil
	}
	for refreshed := false; ; refreshed = true {
		tok, err := c.tokens.Token(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return Result{}, ctx.Err()
			}
			return Result{}, err
		}
		a, err := c.send(ctx, tok, p, account)
		if err != nil {
			return Result{}, err
		}
		if !a.tokenRefused {
			return a.res, nil
		}
		// A token can be revoked before its expiry: fetch a new one once.
		if refreshed || !c.tokens.Invalidate(tok, 0) {
			return Result{}, &providers.Error{Provider: provider, Op: opCheck, Status: a.res.HTTPStatus, Kind: providers.Auth, Code: a.res.Code, Message: a.res.Message}
		}
	}
}

// attempt is what one response said.
type attempt struct {
	res          Result
	tokenRefused bool // 401/403: the caller may refresh the token
}

func (c *Client) send(ctx context.Context, tok, platform, account string) (attempt, error) {
	var a attempt
	build := func(ctx context.Context) (*http.Request, error) {
		a = attempt{}
		var req *http.Request
		var err error
		if c.method == http.MethodGet {
			u, perr := url.Parse(c.checkURL)
			if perr != nil {
				return nil, &providers.Error{Provider: provider, Op: opCheck, Kind: providers.Permanent, Message: "bad check URL"}
			}
			q := u.Query()
			q.Set("platform", platform)
			q.Set("account", account)
			u.RawQuery = q.Encode()
			req, err = http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		} else {
			body, _ := json.Marshal(map[string]string{"platform": platform, "account": account})
			req, err = http.NewRequestWithContext(ctx, c.method, c.checkURL, bytes.NewReader(body))
			if req != nil {
				req.Header.Set("Content-Type", "application/json")
			}
		}
		if err != nil {
			return nil, &providers.Error{Provider: provider, Op: opCheck, Kind: providers.Permanent, Message: "bad check URL"}
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Accept", "application/json")
		return req, nil
	}
	read := func(resp *http.Response, body []byte, readErr error) providers.Answer {
		a.res.HTTPStatus = resp.StatusCode
		if readErr != nil {
			a.res.Message = "reading the answer failed"
			return providers.Answer{Kind: providers.Retryable}
		}
		kind := classify(&a, resp, body, c.secret, tok)
		return providers.Answer{Kind: kind, Code: a.res.Code, Message: a.res.Message}
	}
	tc := providers.TargetCheck{Provider: provider, Op: opCheck, HTTP: c.hc, Retry: c.retry, Now: c.now, ReadLimit: readLimit + 1}
	err := tc.Send(ctx, build, read)
	var ex *providers.Exhausted
	switch {
	case errors.As(err, &ex):
		// Retries exhausted: record the failure against this target only.
		a.res.Outcome = ProviderError
		if a.res.HTTPStatus == 0 {
			a.res.Message = ex.Network()
		}
		return a, nil
	case err != nil:
		return attempt{}, err
	}
	return a, nil
}

// classify fills a from one response and says whether to retry it
// (Retryable/RateLimited) or take it as final (Permanent).
func classify(a *attempt, resp *http.Response, body []byte, secrets ...string) providers.Kind {
	status := resp.StatusCode
	info := parseBody(body)
	a.res.Code = info.code
	a.res.Message = providers.TruncateMessage(providers.RedactSecrets(info.message, secrets...))
	retryable := func() providers.Kind {
		a.res.Outcome = ProviderError
		if status == http.StatusTooManyRequests {
			return providers.RateLimited
		}
		return providers.Retryable
	}
	switch {
	case status >= 500 || status == http.StatusTooManyRequests || status == http.StatusRequestTimeout:
		return retryable()
	case info.code == "4000":
		a.res.Outcome = NotFound
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		a.tokenRefused = true
	case status == http.StatusNotFound:
		a.res.Outcome = NotFound
		if looksLikeRoutingMiss(resp, body, info) {
			// A wrong GMEDIA_CHECK_URL must not mark every licence missing.
			a.res.Outcome = ProviderError
			a.res.Message = "404 that is not Gmedia's no-data answer (check GMEDIA_CHECK_URL): " + a.res.Message
		}
	case status == http.StatusBadRequest:
		a.res.Outcome = Invalid
	case status/100 == 2:
		switch {
		case info.code == "400":
			a.res.Outcome = Invalid
		case strings.HasPrefix(info.code, "5") && len(info.code) == 3:
			return retryable()
		case len(body) > readLimit:
			a.res.Outcome = Found
			a.res.Message = "answer over " + strconv.Itoa(readLimit) + " bytes not read"
		case !info.object && !json.Valid(body):
			// Cut short, or a proxy's HTML page: asked for again like a 5xx.
			a.res.Message = "the 200 answer is not a JSON object"
			return retryable()
		case !info.object:
			a.res.Outcome = ProviderError
			a.res.Message = "the 200 answer is not a JSON object"
		default:
			a.res.Outcome = Found
			a.res.Status = info.status
			a.res.Message = ""
			if len(body) <= MaxPayload {
				a.res.Payload = json.RawMessage(bytes.Clone(body))
			} else {
				a.res.Message = "payload over " + strconv.Itoa(MaxPayload) + " bytes not kept"
			}
		}
	default:
		a.res.Outcome = ProviderError // an unexpected 4xx: recorded, not retried
	}
	return providers.Permanent
}

type bodyInfo struct {
	object  bool   // the body is a JSON object
	code    string // statusCode, else code, when numeric
	message string
	status  string
}

func parseBody(body []byte) bodyInfo {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil || m == nil {
		return bodyInfo{message: strings.TrimSpace(string(body))}
	}
	info := bodyInfo{object: true}
	for _, k := range []string{"statusCode", "code"} {
		if c := numeric(m[k]); c != "" {
			info.code = c
			break
		}
	}
	info.message = text(m["message"])
	if info.message == "" {
		info.message = text(m["error"])
	}
	_ = json.Unmarshal(m["status"], &info.status)
	return info
}

// numeric reads a JSON number or numeric string as its decimal text.
func numeric(raw json.RawMessage) string {
	s := strings.Trim(strings.TrimSpace(string(raw)), `"`)
	if _, err := strconv.Atoi(s); err != nil {
		return ""
	}
	return s
}

// text reads a message given as a string or an array of strings.
func text(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var ss []string
	if json.Unmarshal(raw, &ss) == nil {
		return strings.Join(ss, "; ")
	}
	return ""
}

// looksLikeRoutingMiss tells a web server's "no such path" 404 (an HTML page,
// or a framework's {"statusCode":404,"message":"Cannot POST /x"}) from
// Gmedia's own "no data" answer.
func looksLikeRoutingMiss(resp *http.Response, body []byte, info bodyInfo) bool {
	if strings.Contains(resp.Header.Get("Content-Type"), "text/html") || bytes.HasPrefix(bytes.TrimSpace(body), []byte("<")) {
		return true
	}
	return info.code == "404" && strings.HasPrefix(info.message, "Cannot ")
}
