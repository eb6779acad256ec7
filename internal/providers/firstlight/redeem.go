package firstlight

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"syncer/internal/providers"
)

const opRedeem = "checkredeem"

// Error codes from the spec.
const (
	codeInvalidUser   = 40400101
	codeInvalidFirst  = 40400102
	codeInvalidLast   = 40400121
	codeNotEntitled   = 40400140
	codeSystemFailure = 40400190
	codeUnknownFail   = 40400191
)

// freshTokenAge: a 40400101 on an IAM token younger than this is taken to be
// about the user token without a second try. The code names X-Authorization
// (the user token), but a gateway may answer it for an IAM token that just
// expired, so an older IAM token is refreshed once first; refreshing on every
// bad user token would fetch an IAM token per target.
const freshTokenAge = time.Minute

// CheckRedeem asks whether the user behind userToken may redeem req. Every
// answer about this user and content, including Firstlight failing after
// retries, is a Result with a nil error. The error is for what is ours and
// would fail every target alike: a cancelled context, the IAM token (or the
// client credentials that obtain it) refused. The spec tells the two
// refusals apart: 40400101 "Invalid X-Authorization" is the user token (a
// Result with AuthFailed); a 401 or 403 without that code is the
// Authorization header, our IAM token (an error of Kind Auth, after one
// refresh when the token is fetched). userToken is a secret: it is sent as
// X-Authorization and appears nowhere else.
func (c *Client) CheckRedeem(ctx context.Context, req Request, userToken string) (Result, error) {
	if err := req.Validate(); err != nil {
		return Result{Outcome: InvalidRequest, Description: err.Error()}, nil
	}
	if userToken == "" {
		return Result{Outcome: AuthFailed, Description: "no user token"}, nil
	}
	body, err := json.Marshal(req)
	if err != nil {
		return Result{}, err
	}
	for retried := false; ; retried = true {
		iam, err := c.iamToken(ctx)
		if err != nil {
			return Result{}, err
		}
		a, err := c.send(ctx, iam, userToken, body)
		if err != nil {
			return Result{}, err
		}
		if a.res.Outcome != AuthFailed {
			return a.res, nil
		}
		iamRefused := a.res.Code != strconv.Itoa(codeInvalidUser)
		if c.tokens != nil && !retried && (iamRefused || a.res.HTTPStatus == http.StatusUnauthorized) {
			minAge := freshTokenAge
			if iamRefused {
				minAge = 0
			}
			if c.tokens.Invalidate(iam, minAge) {
				continue
			}
		}
		if !iamRefused {
			return a.res, nil
		}
		msg := "IAM token refused"
		if a.res.Description != "" {
			msg += ": " + a.res.Description
		}
		return Result{}, &providers.Error{Provider: provider, Op: opRedeem, Status: a.res.HTTPStatus, Kind: providers.Auth, Code: a.res.Code, Message: msg}
	}
}

func (c *Client) iamToken(ctx context.Context) (string, error) {
	if c.tokens == nil {
		if c.static == "" {
			return "", &providers.Error{Provider: provider, Op: opRedeem, Kind: providers.Auth, Message: "no IAM token configured"}
		}
		return c.static, nil
	}
	tok, err := c.tokens.Token(ctx)
	if err != nil && ctx.Err() != nil {
		return "", ctx.Err()
	}
	return tok, err
}

type attempt struct {
	res Result
}

func (c *Client) send(ctx context.Context, iam, userToken string, body []byte) (attempt, error) {
	var a attempt
	secrets := append([]string{iam, userToken}, c.secrets...)
	build := func(ctx context.Context) (*http.Request, error) {
		// A fresh id per attempt, so each retry can be traced on its own.
		a = attempt{res: Result{TrackingID: c.trackingID()}}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
		if err != nil {
			return nil, &providers.Error{Provider: provider, Op: opRedeem, Kind: providers.Permanent, Message: "bad checkredeem URL"}
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		req.Header.Set("Authorization", "Bearer "+iam)
		req.Header.Set("X-Authorization", userToken)
		req.Header.Set("X-Tracking-Id", a.res.TrackingID)
		return req, nil
	}
	read := func(resp *http.Response, b []byte, readErr error) providers.Answer {
		a.res.HTTPStatus = resp.StatusCode
		if readErr != nil {
			a.res.Outcome, a.res.Description = ProviderError, "reading the answer failed"
			return providers.Answer{Kind: providers.Retryable}
		}
		kind := classify(&a.res, resp.StatusCode, b)
		a.res.Description = providers.TruncateMessage(providers.RedactSecrets(a.res.Description, secrets...))
		return providers.Answer{Kind: kind, Code: a.res.Code, Message: a.res.Description}
	}
	tc := providers.TargetCheck{Provider: provider, Op: opRedeem, HTTP: c.hc, Retry: c.retry, Now: c.now, ReadLimit: 64 << 10}
	err := tc.Send(ctx, build, read)
	var ex *providers.Exhausted
	switch {
	case errors.As(err, &ex):
		// Retries exhausted: record the failure against this target only.
		a.res.Outcome = ProviderError
		if a.res.HTTPStatus == 0 {
			a.res.Description = ex.Network()
		}
		return a, nil
	case err != nil:
		return attempt{}, err
	}
	return a, nil
}

type envelope struct {
	Header struct {
		Code    json.RawMessage `json:"code"`
		Message string          `json:"message"`
		Errors  []struct {
			Code        json.RawMessage `json:"code"`
			Description string          `json:"description"`
		} `json:"errors"`
	} `json:"header"`
	Data struct {
		Redeemable *bool `json:"redeemable"`
	} `json:"data"`
}

// classify sets r's outcome, code and description from one response and says
// whether to retry (Retryable/RateLimited) or take it as final (Permanent).
// A known error code decides; without one, the HTTP status does.
func classify(r *Result, status int, body []byte) providers.Kind {
	var env envelope
	// The spec's 200 example is empty, so an empty body is fine; a body
	// that is there but not JSON (a proxy's HTML page) is not an answer.
	notJSON := json.Unmarshal(body, &env) != nil && len(bytes.TrimSpace(body)) > 0
	r.Description = env.Header.Message
	known := 0 // the first error code we know decides; else the first error is reported
	for i, e := range env.Header.Errors {
		code := strings.Trim(strings.TrimSpace(string(e.Code)), `"`)
		n, _ := strconv.Atoi(code)
		if outcomeOf(n) != "" {
			r.Code, r.Description, known = code, e.Description, n
			break
		}
		if i == 0 {
			r.Code, r.Description = code, e.Description
		}
	}
	retry := func() providers.Kind {
		r.Outcome = ProviderError
		if status == http.StatusTooManyRequests {
			return providers.RateLimited
		}
		return providers.Retryable
	}
	if o := outcomeOf(known); o != "" {
		r.Outcome = o
		if o == ProviderError {
			return retry()
		}
		return providers.Permanent
	}
	switch {
	case status >= 500 || status == http.StatusTooManyRequests:
		return retry()
	case status/100 == 2:
		hc := strings.TrimSpace(string(env.Header.Code))
		switch {
		case notJSON:
			r.Description = "the 200 answer is not JSON"
			return retry()
		case env.Data.Redeemable != nil && !*env.Data.Redeemable:
			r.Outcome = NotEntitled
		case hc != "" && hc != "0" && hc != `"0"`:
			r.Outcome = ProviderError // a 200 that says Failure without a code we know
		default:
			r.Outcome = Entitled
		}
	case status == http.StatusBadRequest:
		r.Outcome = InvalidRequest
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		r.Outcome = AuthFailed
	default:
		r.Outcome = ProviderError // an unexpected 4xx: recorded, not retried
	}
	return providers.Permanent
}

// outcomeOf maps a spec error code to its outcome, "" for unknown codes.
func outcomeOf(code int) Outcome {
	switch {
	case code == codeNotEntitled:
		return NotEntitled
	case code == codeInvalidUser:
		return AuthFailed
	case code >= codeInvalidFirst && code <= codeInvalidLast:
		return InvalidRequest
	case code == codeSystemFailure || code == codeUnknownFail:
		return ProviderError
	}
	return ""
}
