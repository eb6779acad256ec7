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
	Email  wireText   `json:"email"`
	Wallet wireWallet `json:"wallet"`
}

// wireText is a JSON string whose bytes that are not UTF-8 are counted:
// encoding/json replaces each with U+FFFD without a word, and a replaced
// character in a stored value is something an operator should hear of.
type wireText struct {
	s       string
	invalid int // bytes of the raw string that were not UTF-8
}

func (t *wireText) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*t = wireText{}
		return nil
	}
	invalid := 0
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			invalid++
		}
		i += size
	}
	if invalid == 0 && len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' && bytes.IndexByte(b, '\\') < 0 {
		*t = wireText{s: string(b[1 : len(b)-1])} // nothing to unescape: most emails
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*t = wireText{s: s, invalid: invalid}
	return nil
}

// wallet converts an entry; key is its key in the map form ("" in an array).
func (w *wireClient) wallet(key string) (ClientWallet, error) {
	id, err := entryID(w.ID, key)
	if err != nil {
		return ClientWallet{}, err
	}
	return ClientWallet{ID: id, Email: w.Email.s, InvalidUTF8: w.Email.invalid,
		Balance: w.Wallet.Balance, Credit: w.Wallet.Credit, Income: w.Wallet.Income}, nil
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

// bodyReader counts what is read of a streamed answer, remembers a failed
// read (so a body cut by the network is told apart from one that is not
// JSON) and enforces the limits while the bytes arrive: MaxListBody in all,
// and at most MaxListEntry for the token or entry being decoded, so a 100 MB
// field fails after 64 KiB instead of being buffered whole by the decoder.
type bodyReader struct {
	r      io.Reader
	err    error // a read that failed: the network, not the provider's text
	over   error // a limit was passed
	n      int64
	window int64 // reading past this offset passes the per-entry limit
	shift  int64 // the body offset of a Decoder's offset 0 (see clientList)
}

func newBodyReader(r io.Reader) *bodyReader {
	return &bodyReader{r: r, window: MaxListEntry}
}

// next opens the window for the token or entry that starts at offset (the
// decoder's InputOffset). The decoder reads only when the value it is on
// needs more bytes, so a read past offset+MaxListEntry means that value is
// longer than MaxListEntry, whatever it had buffered before.
func (b *bodyReader) next(offset int64) { b.window = b.shift + offset + MaxListEntry }

func (b *bodyReader) Read(p []byte) (int, error) {
	if b.over != nil {
		return 0, b.over
	}
	limit := min(b.window, MaxListBody+1) - b.n
	if limit <= 0 {
		if b.n > MaxListBody {
			b.over = fmt.Errorf("answer over the limit of %d bytes", int64(MaxListBody))
		} else {
			b.over = fmt.Errorf("a value in the answer is over the limit of %d bytes", MaxListEntry)
		}
		return 0, b.over
	}
	if int64(len(p)) > limit {
		p = p[:limit]
	}
	n, err := b.r.Read(p)
	b.n += int64(n)
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

// decodeFailure classifies an error met while decoding a 2xx body. A body
// that could not be read to its end (cut, truncated, not JSON) wraps
// providers.ErrUnreadable, which Do retries, unless canRetry is false (the
// caller has received entries and cannot start over). A limit passed, or an
// entry that reads but makes no sense, is Malformed: a resend brings the same.
func (c *Client) decodeFailure(op string, status int, br *bodyReader, err error, canRetry bool) error {
	var pe *providers.Error
	var ce callerError
	var syntax *json.SyntaxError
	var listSyntax *syntaxError
	unreadable := func(kind providers.Kind, err error) error {
		if canRetry {
			err = fmt.Errorf("%w: %w", providers.ErrUnreadable, err)
		}
		return &providers.Error{Provider: provider, Op: op, Status: status, Kind: kind, Err: err}
	}
	switch {
	case errors.As(err, &ce), errors.As(err, &pe):
		return err
	case br.over != nil:
		return c.malformed(op, status, br.over)
	case br.err != nil:
		return unreadable(providers.Retryable, fmt.Errorf("reading body: %w", br.err))
	case errors.As(err, &syntax), errors.As(err, &listSyntax):
		return unreadable(providers.Malformed, errors.New("the answer is not JSON: "+providers.TruncateMessage(err.Error())))
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return unreadable(providers.Malformed, errors.New("the answer stops short"))
	}
	return c.malformed(op, status, errors.New(providers.TruncateMessage(err.Error())))
}

// stream walks a 2xx answer {"<listKey>": [...] or {...}, ...} token by token
// so a list of any length is never held whole; list consumes the list value.
// A top-level "errors" is the provider refusing; other fields are skipped.
// canRetry says whether a broken answer may be sent for again (see
// decodeFailure); it is asked when the failure happens.
//
// list is given the Decoder by reference: it may read the list by other
// means and leave a Decoder for the rest (clientList).
func (c *Client) stream(op string, resp *http.Response, listKey string, canRetry func() bool, list func(**json.Decoder, *bodyReader) error) error {
	br := newBodyReader(resp.Body)
	dec := json.NewDecoder(br)
	seen := false
	err := objectFields(&dec, br, func(key string) error {
		switch key {
		case listKey:
			seen = true
			return list(&dec, br)
		case "errors":
			br.next(dec.InputOffset())
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return err
			}
			if msg := joinMessages(raw); msg != "" {
				return c.apiError(op, resp.StatusCode, nil, msg)
			}
			return nil
		}
		return skipValue(dec, br)
	})
	if err == nil && !seen {
		// Not an empty list: an answer without the list cannot be told from
		// a broken one, and a caller may treat "no clients" as news.
		err = fmt.Errorf("answer has no %q", listKey)
	}
	if err != nil {
		return c.decodeFailure(op, resp.StatusCode, br, err, canRetry())
	}
	return nil
}

// objectFields reads one JSON object, calling field for each key; field must
// consume the value, and may leave another Decoder in *decp to go on with.
func objectFields(decp **json.Decoder, br *bodyReader, field func(key string) error) error {
	br.next((*decp).InputOffset())
	t, err := (*decp).Token()
	if err != nil {
		return err
	}
	if t != json.Delim('{') {
		return fmt.Errorf("answer is %v, not an object", t)
	}
	for (*decp).More() {
		br.next((*decp).InputOffset())
		t, err := (*decp).Token()
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
	_, err = (*decp).Token() // the closing brace: a truncated body fails here
	return err
}

// eachEntry streams a list sent as an array or as an object keyed by id,
// decoding one entry at a time; key is "" for array entries. null is empty.
func eachEntry[T any](dec *json.Decoder, br *bodyReader, each func(key string, v *T) error) error {
	br.next(dec.InputOffset())
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
			br.next(dec.InputOffset())
			kt, err := dec.Token()
			if err != nil {
				return err
			}
			key, _ = kt.(string)
		}
		var v T
		br.next(dec.InputOffset())
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
func skipValue(dec *json.Decoder, br *bodyReader) error {
	depth := 0
	for {
		br.next(dec.InputOffset())
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
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) {
			// Cut short or not JSON (a proxy's page): Do asks again.
			err = fmt.Errorf("%w: the answer is not JSON: %s", providers.ErrUnreadable, providers.TruncateMessage(err.Error()))
		}
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

// idSet finds an id met twice in one answer. MGID lists clients in
// ascending id order, and while they come that way an id above the last
// one cannot be a repeat: a comparison suffices and no map is built (a map
// of 100,000 ids cost a tenth of the decoding). The first id out of order
// moves them all into a map.
type idSet struct {
	last int64
	ids  []int64
	seen map[int64]struct{}
}

// add reports whether id is new, and remembers it.
func (s *idSet) add(id int64) bool {
	if s.seen == nil {
		if len(s.ids) == 0 || id > s.last {
			s.ids, s.last = append(s.ids, id), id
			return true
		}
		s.seen = make(map[int64]struct{}, 2*len(s.ids))
		for _, v := range s.ids {
			s.seen[v] = struct{}{}
		}
		s.ids = nil
	}
	if _, dup := s.seen[id]; dup {
		return false
	}
	s.seen[id] = struct{}{}
	return true
}

func (s *idSet) reset() { *s = idSet{ids: s.ids[:0]} }

// idOrder finds a client met twice in a list that comes in ascending id
// order (as MGID sends it), holding nothing but the last id: the clients
// list may run to millions of entries, and a set of them all (idSet) grew
// with it. Once an id comes out of order, a repeat can no longer be told by
// a comparison and the list's consumer checks instead (the store refuses a
// snapshot that lists a client twice).
type idOrder struct {
	last      int64
	started   bool
	unordered bool
}

// add reports whether id repeats the id before it in an ascending list.
func (o *idOrder) add(id int64) bool {
	switch {
	case o.unordered:
	case !o.started || id > o.last:
		o.started, o.last = true, id
	case id == o.last:
		return false
	default:
		o.unordered = true
	}
	return true
}
