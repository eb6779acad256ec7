package mgid

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"syncer/internal/money"
	"syncer/internal/providers"
)

// flexID is an integer id that MGID sends as a JSON number or a string.
type flexID int64

func (id *flexID) UnmarshalJSON(b []byte) error {
	s := string(bytes.TrimSpace(b))
	if s == "null" {
		*id = 0
		return nil
	}
	if strings.HasPrefix(s, `"`) {
		u, err := strconv.Unquote(s)
		if err != nil {
			return fmt.Errorf("id %s: %w", b, err)
		}
		s = strings.TrimSpace(u)
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 {
		return fmt.Errorf("id %s is not a non-negative integer", b)
	}
	*id = flexID(v)
	return nil
}

type wireWallet struct {
	Balance money.Amount  `json:"balance"`
	Credit  *money.Amount `json:"credit"` // nil when absent or null: not sent is not 0
	Income  money.Amount  `json:"income"`
}

type wireClient struct {
	ID     flexID     `json:"id"`
	Email  string     `json:"email"`
	Wallet wireWallet `json:"wallet"`
}

// wallet converts an entry; key is its key in the map form ("" in an array).
func (w *wireClient) wallet(key string) (ClientWallet, error) {
	id, err := entryID(w.ID, key)
	if err != nil {
		return ClientWallet{}, err
	}
	return ClientWallet{ID: id, Email: w.Email, Balance: w.Wallet.Balance, Credit: w.Wallet.Credit, Income: w.Wallet.Income}, nil
}

// entryID is a list entry's client id: its own id field wins over the key
// of the map form.
func entryID(id flexID, key string) (int64, error) {
	if id > 0 {
		return int64(id), nil
	}
	if key == "" {
		return 0, errors.New("entry without a client id")
	}
	v, err := strconv.ParseInt(key, 10, 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("entry key %q is not a client id", key)
	}
	return v, nil
}

// errorMessage extracts the provider's message from an error body: `errors`
// as a string or an array of strings (joined with "; "), else `error` or
// `message`; a body that is not JSON yields a short excerpt.
func errorMessage(body []byte) string {
	var v struct {
		Errors  json.RawMessage `json:"errors"`
		Error   json.RawMessage `json:"error"`
		Message json.RawMessage `json:"message"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return excerpt(body)
	}
	for _, raw := range []json.RawMessage{v.Errors, v.Error, v.Message} {
		if m := joinMessages(raw); m != "" {
			return m
		}
	}
	return ""
}

// joinMessages renders an `errors` value: a string, an array (of strings or
// anything else), or any other JSON as compact text.
func joinMessages(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return strings.TrimSpace(s)
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) == nil {
		parts := make([]string, 0, len(list))
		for _, item := range list {
			if m := joinMessages(item); m != "" {
				parts = append(parts, m)
			}
		}
		return strings.Join(parts, "; ")
	}
	var buf bytes.Buffer
	if json.Compact(&buf, raw) == nil {
		return excerpt(buf.Bytes())
	}
	return excerpt(raw)
}

// excerpt is the start of a non-JSON body (an HTML error page from a proxy),
// on one line.
func excerpt(b []byte) string {
	const max = 200
	if !utf8.Valid(b) {
		return ""
	}
	s := strings.Join(strings.Fields(string(b)), " ")
	if utf8.RuneCountInString(s) > max {
		s = string([]rune(s)[:max]) + "…"
	}
	return s
}

// bodyReader remembers a failed read, so a body cut by the network is told
// apart from a body that is not JSON.
type bodyReader struct {
	r   io.Reader
	err error
}

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}

// callerError carries the error of the caller's callback untouched through
// the decoding layers: it is neither malformed nor a reason to log in again.
type callerError struct{ err error }

func (e callerError) Error() string { return e.err.Error() }
func (e callerError) Unwrap() error { return e.err }

func unwrapCaller(err error) error {
	var ce callerError
	if errors.As(err, &ce) {
		return ce.err
	}
	return err
}

// decodeFailure classifies an error met while decoding a 2xx body.
func (c *Client) decodeFailure(op string, status int, br *bodyReader, err error) error {
	var pe *providers.Error
	var ce callerError
	switch {
	case errors.As(err, &ce), errors.As(err, &pe):
		return err
	case br.err != nil:
		return &providers.Error{Provider: provider, Op: op, Status: status, Kind: providers.Retryable, Err: fmt.Errorf("reading body: %w", br.err)}
	}
	return c.malformed(op, status, err)
}

// stream walks a 2xx answer {"<listKey>": [...] or {...}, ...} token by token
// so a list of any length is never held whole; list consumes the list value.
// A top-level "errors" is the provider refusing; other fields are skipped.
func (c *Client) stream(op string, resp *http.Response, listKey string, list func(*json.Decoder) error) error {
	br := &bodyReader{r: resp.Body}
	dec := json.NewDecoder(br)
	seen := false
	err := objectFields(dec, func(key string) error {
		switch key {
		case listKey:
			seen = true
			return list(dec)
		case "errors":
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return err
			}
			if msg := joinMessages(raw); msg != "" {
				return c.apiError(op, resp.StatusCode, nil, msg)
			}
			return nil
		}
		return skipValue(dec)
	})
	if err == nil && !seen {
		// Not an empty list: an answer without the list cannot be told from
		// a broken one, and a caller may treat "no clients" as news.
		err = fmt.Errorf("answer has no %q", listKey)
	}
	if err != nil {
		return c.decodeFailure(op, resp.StatusCode, br, err)
	}
	return nil
}

// objectFields reads one JSON object, calling field for each key; field must
// consume the value.
func objectFields(dec *json.Decoder, field func(key string) error) error {
	t, err := dec.Token()
	if err != nil {
		return err
	}
	if t != json.Delim('{') {
		return fmt.Errorf("answer is %v, not an object", t)
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		key, ok := t.(string)
		if !ok {
			return fmt.Errorf("unexpected %v", t)
		}
		if err := field(key); err != nil {
			return err
		}
	}
	_, err = dec.Token() // the closing brace: a truncated body fails here
	return err
}

// eachEntry streams a list sent as an array or as an object keyed by id,
// decoding one entry at a time; key is "" for array entries. null is empty.
func eachEntry[T any](dec *json.Decoder, each func(key string, v *T) error) error {
	t, err := dec.Token()
	if err != nil {
		return err
	}
	if t == nil {
		return nil
	}
	d, ok := t.(json.Delim)
	if !ok || (d != '[' && d != '{') {
		return fmt.Errorf("list is %v, not an array or object", t)
	}
	for dec.More() {
		var key string
		if d == '{' {
			kt, err := dec.Token()
			if err != nil {
				return err
			}
			key, _ = kt.(string)
		}
		var v T
		if err := dec.Decode(&v); err != nil {
			return err
		}
		if err := each(key, &v); err != nil {
			return err
		}
	}
	_, err = dec.Token()
	return err
}

// skipValue consumes one value of any size without keeping it.
func skipValue(dec *json.Decoder) error {
	depth := 0
	for {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		if d, ok := t.(json.Delim); ok {
			if d == '[' || d == '{' {
				depth++
			} else {
				depth--
			}
		}
		if depth == 0 {
			return nil
		}
	}
}

// decodeSmall reads a 2xx answer whole into v, first checking it for "errors".
func (c *Client) decodeSmall(op string, resp *http.Response, v any) error {
	b, err := c.readSmall(op, resp)
	if err != nil {
		return err
	}
	var env struct {
		Errors json.RawMessage `json:"errors"`
	}
	if err := json.Unmarshal(b, &env); err != nil {
		return c.malformed(op, resp.StatusCode, err)
	}
	if msg := joinMessages(env.Errors); msg != "" {
		return c.apiError(op, resp.StatusCode, nil, msg)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return c.malformed(op, resp.StatusCode, err)
	}
	return nil
}

func (c *Client) decodeLogin(resp *http.Response) (*session, error) {
	var v struct {
		Token     string `json:"token"`
		AccountID flexID `json:"accountId"`
	}
	if err := c.decodeSmall(opLogin, resp, &v); err != nil {
		return nil, err
	}
	switch {
	case v.Token == "":
		return nil, c.malformed(opLogin, resp.StatusCode, errors.New("answer has no token"))
	case v.AccountID <= 0:
		return nil, c.malformed(opLogin, resp.StatusCode, errors.New("answer has no accountId"))
	}
	return &session{token: v.Token, accountID: int64(v.AccountID)}, nil
}
