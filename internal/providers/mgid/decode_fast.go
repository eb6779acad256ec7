package mgid

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"

	"syncer/internal/money"
	"syncer/internal/providers"
)

// wirePlain is wireClient without its UnmarshalJSON: what encoding/json
// makes of an entry, the meaning the fast path below must match.
type wirePlain wireClient

// UnmarshalJSON decodes one clients-list entry. encoding/json's reflection
// walk cost three quarters of decoding a list of 100,000 clients
// (BENCHMARKS.md, "Issue 14: the clients decoder"); the entries MGID sends
// have one shape (an id, an email without escapes, a wallet of three
// amounts), which fastClient reads by hand. Anything else (null, escapes,
// keys differing only in case, an error of any kind) goes to encoding/json
// unchanged, so the meaning and the error text stay encoding/json's. b has
// already been checked as JSON by the decoder that calls this, and read
// within the per-entry limit (bodyReader).
func (w *wireClient) UnmarshalJSON(b []byte) error {
	tmp := *w
	if fastClient(b, &tmp) {
		*w = tmp
		return nil
	}
	return json.Unmarshal(b, (*wirePlain)(w))
}

// fastClient decodes b into w when b has the common shape and no error;
// false means "ask encoding/json" (w may then hold part of b).
func fastClient(b []byte, w *wireClient) bool {
	s := scan{b: b}
	if !s.object(func(key []byte) bool {
		switch string(key) {
		case "id":
			return s.id(&w.ID)
		case "email":
			v, ok := s.plainString()
			if !ok || !utf8.Valid(v) {
				return false
			}
			w.Email = wireText{s: string(v)}
			return true
		case "wallet":
			return s.object(func(key []byte) bool {
				switch string(key) {
				case "balance":
					return s.amount(&w.Wallet.Balance)
				case "income":
					return s.amount(&w.Wallet.Income)
				case "credit":
					var a money.Amount
					if !s.amount(&a) {
						return false
					}
					w.Wallet.Credit = &a
					return true
				}
				return s.other(key, "balance", "credit", "income")
			})
		}
		return s.other(key, "id", "email", "wallet")
	}) {
		return false
	}
	s.ws()
	return s.i == len(s.b)
}

// scan walks a JSON value already known to be valid.
type scan struct {
	b []byte
	i int
}

func (s *scan) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scan) eat(c byte) bool {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// object reads {"key": value, ...}; field must consume the value. An empty
// object or a null (which encoding/json treats in its own ways) is declined.
func (s *scan) object(field func(key []byte) bool) bool {
	if !s.eat('{') {
		return false
	}
	for {
		key, ok := s.plainString()
		if !ok || !s.eat(':') || !field(key) {
			return false
		}
		if s.eat(',') {
			continue
		}
		return s.eat('}')
	}
}

// plainString reads a string with no escape and no control character in
// it (either would need encoding/json's rules), returning its bytes.
func (s *scan) plainString() ([]byte, bool) {
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return nil, false
	}
	n := bytes.IndexByte(s.b[s.i+1:], '"')
	if n < 0 {
		return nil, false
	}
	v := s.b[s.i+1 : s.i+1+n]
	for _, c := range v {
		if c < 0x20 || c == '\\' {
			return nil, false
		}
	}
	s.i += n + 2
	return v, true
}

// scalar reads a JSON number or a plain string, quotes included.
func (s *scan) scalar() ([]byte, bool) {
	s.ws()
	start := s.i
	if s.i < len(s.b) && s.b[s.i] == '"' {
		if _, ok := s.plainString(); !ok {
			return nil, false
		}
		return s.b[start:s.i], true
	}
	if !s.number() {
		return nil, false
	}
	return s.b[start:s.i], true
}

// number reads -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?, JSON's number.
func (s *scan) number() bool {
	digits := func() int {
		n := 0
		for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
			s.i++
			n++
		}
		return n
	}
	if s.i < len(s.b) && s.b[s.i] == '-' {
		s.i++
	}
	if s.i < len(s.b) && s.b[s.i] == '0' {
		s.i++
	} else if digits() == 0 {
		return false
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if digits() == 0 {
			return false
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if digits() == 0 {
			return false
		}
	}
	return true
}

// id reads a client id as flexID does for its common forms: digits, bare or
// quoted.
func (s *scan) id(id *flexID) bool {
	v, ok := s.scalar()
	if !ok {
		return false
	}
	if v[0] == '"' {
		v = v[1 : len(v)-1]
	}
	if len(v) == 0 {
		return false
	}
	for _, c := range v {
		if c < '0' || c > '9' {
			return false
		}
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		return false
	}
	*id = flexID(n)
	return true
}

// amount reads an amount as money.Amount's UnmarshalJSON does (as
// encoding/json would); an amount it refuses is declined (encoding/json then
// says why in its words). A bare decimal, quoted or not, goes straight to
// money.Parse, which is what UnmarshalJSON does with it after its unquoting,
// trimming and exponent check (a third of this decoder's time).
func (s *scan) amount(a *money.Amount) bool {
	v, ok := s.scalar()
	if !ok {
		return false
	}
	d := v
	if d[0] == '"' {
		d = d[1 : len(d)-1]
	}
	for _, c := range d {
		if (c < '0' || c > '9') && c != '.' && c != '-' {
			return a.UnmarshalJSON(v) == nil
		}
	}
	p, err := money.Parse(string(d))
	if err != nil {
		return false
	}
	*a = p
	return true
}

// other skips the value of a key this entry does not use, unless the key
// is one encoding/json would match to a field case-insensitively or is not
// ASCII (its case folding then is encoding/json's to do).
func (s *scan) other(key []byte, names ...string) bool {
	for _, c := range key {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	for _, n := range names {
		if bytes.EqualFold(key, []byte(n)) {
			return false
		}
	}
	return s.skip()
}

// skip passes over one value of any kind, declining one that is not JSON.
func (s *scan) skip() bool {
	s.ws()
	n, ok := valueLen(s.b[s.i:])
	if !ok || !json.Valid(s.b[s.i:s.i+n]) {
		return false
	}
	s.i += n
	return true
}

// valueLen is the length of the value b starts with, found by its brackets
// and quotes only (the value is checked apart): a string, an object or an
// array to its closing byte, anything else to the next ',', '}', ']' or
// space. ok is false when b ends first or holds no value.
func valueLen(b []byte) (n int, ok bool) {
	depth := 0
	for k := 0; k < len(b); {
		c := b[k]
		switch c {
		case '"':
			k++
			for k < len(b) && b[k] != '"' {
				if b[k] == '\\' {
					k++
				}
				k++
			}
			if k >= len(b) {
				return 0, false
			}
			k++
		case '{', '[':
			depth++
			k++
		case '}', ']':
			if depth == 0 {
				return k, k > 0
			}
			depth--
			k++
		case ',', ' ', '\t', '\n', '\r':
			if depth == 0 {
				return k, k > 0
			}
			k++
		default:
			k++
		}
		if depth == 0 && (c == '"' || c == '}' || c == ']') {
			return k, true
		}
	}
	return 0, false
}

// syntaxError is a list that is not JSON, found by clientList; it is told
// as encoding/json's SyntaxError is (decodeFailure).
type syntaxError struct{ msg string }

func (e *syntaxError) Error() string { return e.msg }

// clientList reads the clients list (an array, an object keyed by id, or
// null) straight from the body's bytes, without encoding/json's Decoder:
// its byte-by-byte scan and reflection were three quarters of a snapshot's
// CPU (BENCHMARKS.md, "Issue 14: the clients decoder"). Each entry is cut
// out by its brackets and quotes, within the per-entry limit as before
// (br.next before its bytes are read), and decoded by wireClient's decoder
// (fastClient, else encoding/json on the entry: a malformed entry fails
// with encoding/json's error). dec is where the answer's other fields are
// read; on return *dec is a Decoder positioned after the list (a new one,
// its offsets mapped onto the body's by br.shift).
func clientList(dec **json.Decoder, br *bodyReader, each func(key string, w *wireClient) error) error {
	d := *dec
	l := &listScan{src: io.MultiReader(d.Buffered(), br), br: br, base: br.shift + d.InputOffset(), buf: make([]byte, 0, 64<<10)}
	br.shift = 0 // listScan gives body offsets
	// The Decoder stopped after the key: the colon is still to come.
	if c, err := l.peek(); err != nil {
		return err
	} else if c != ':' {
		return &syntaxError{fmt.Sprintf("invalid character %q after object key", c)}
	}
	l.pos++
	if c, err := l.peek(); err != nil {
		return err
	} else if c != '[' && c != '{' {
		// null, or not a list: the Decoder path says what it is, as before.
		nd, err := l.handBack(`{"":`, 2)
		if err != nil {
			return err
		}
		*dec = nd
		return eachEntry(nd, br, func(key string, w *wirePlain) error { return each(key, (*wireClient)(w)) })
	}
	if err := l.list(each); err != nil {
		return err
	}
	// The rest of the answer goes back to a Decoder, which must see an object
	// it is inside of: it is handed `{"":0` and the bytes after the list.
	nd, err := l.handBack(`{"":0`, 3)
	if err != nil {
		return err
	}
	*dec = nd
	return nil
}

// handBack returns a Decoder reading head and then the bytes not parsed yet,
// past its first tokens tokens (those of head), its offsets mapped onto the
// body's.
func (l *listScan) handBack(head string, tokens int) (*json.Decoder, error) {
	rest := append([]byte(head), l.buf[l.pos:]...)
	l.br.shift = l.base + int64(l.pos) - int64(len(head))
	nd := json.NewDecoder(io.MultiReader(bytes.NewReader(rest), l.src))
	for range tokens {
		if _, err := nd.Token(); err != nil {
			return nil, err
		}
	}
	return nd, nil
}

type listScan struct {
	src  io.Reader // the Decoder's buffered bytes, then the body
	br   *bodyReader
	buf  []byte // buf[pos:] is read and not yet parsed
	pos  int
	base int64 // the body offset of buf[0]
	rerr error // what ended src
}

// fill reads more bytes, keeping buf[pos:]; false when the body ended.
func (l *listScan) fill() bool {
	for l.rerr == nil {
		if l.pos > 0 {
			n := copy(l.buf, l.buf[l.pos:])
			l.base += int64(l.pos)
			l.buf, l.pos = l.buf[:n], 0
		}
		if len(l.buf) == cap(l.buf) {
			l.buf = append(l.buf, 0)[:len(l.buf)] // grows: an entry longer than the buffer (br bounds it)
		}
		n, err := l.src.Read(l.buf[len(l.buf):cap(l.buf)])
		l.buf = l.buf[:len(l.buf)+n]
		if err != nil {
			l.rerr = err
		}
		if n > 0 {
			return true
		}
	}
	return false
}

// ended is the error for a body that ended inside the list.
func (l *listScan) ended() error {
	if l.rerr == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return l.rerr
}

// peek skips white space and returns the next byte.
func (l *listScan) peek() (byte, error) {
	for {
		for l.pos < len(l.buf) {
			switch c := l.buf[l.pos]; c {
			case ' ', '\t', '\n', '\r':
				l.pos++
			default:
				l.br.next(l.base + int64(l.pos))
				return c, nil
			}
		}
		l.br.next(l.base + int64(l.pos)) // the bytes before are parsed: the window moves on
		if !l.fill() {
			return 0, l.ended()
		}
	}
}

// value returns the bytes of the next value (valid until the next read).
func (l *listScan) value() ([]byte, error) {
	c, err := l.peek()
	if err != nil {
		return nil, err
	}
	switch c {
	case '"', '{', '[':
	default:
		// A bare scalar ends where JSON's grammar says, as for the Decoder
		// (an entry "0" followed by "0" is the number 0, then an error).
		n, err := l.scalarLen(c)
		if err != nil {
			return nil, err
		}
		v := l.buf[l.pos : l.pos+n]
		l.pos += n
		return v, nil
	}
	for {
		if n, ok := valueLen(l.buf[l.pos:]); ok {
			v := l.buf[l.pos : l.pos+n]
			l.pos += n
			return v, nil
		}
		if !l.fill() {
			return nil, l.ended()
		}
	}
}

// at returns the byte k after pos, reading as needed; false when the body
// ended first.
func (l *listScan) at(k int) (byte, bool) {
	for l.pos+k >= len(l.buf) {
		if !l.fill() {
			return 0, false
		}
	}
	return l.buf[l.pos+k], true
}

// scalarLen is the length of the number or literal (true, false, null) at
// pos, which starts with c.
func (l *listScan) scalarLen(c byte) (int, error) {
	bad := func(c byte) error { return &syntaxError{fmt.Sprintf("invalid character %q in a value", c)} }
	for _, word := range []string{"true", "false", "null"} {
		if c != word[0] {
			continue
		}
		for k := range len(word) {
			b, ok := l.at(k)
			if !ok {
				return 0, l.ended()
			}
			if b != word[k] {
				return 0, bad(b)
			}
		}
		return len(word), nil
	}
	k := 0
	// digits reads a run of digits; at least one is needed when need.
	digits := func(need bool) error {
		n := 0
		for {
			b, ok := l.at(k)
			if !ok {
				if need && n == 0 {
					return l.ended()
				}
				return nil
			}
			if b < '0' || b > '9' {
				if need && n == 0 {
					return bad(b)
				}
				return nil
			}
			k++
			n++
		}
	}
	if c == '-' {
		k++
	}
	b, ok := l.at(k)
	switch {
	case !ok:
		return 0, l.ended()
	case b == '0':
		k++
	case b >= '1' && b <= '9':
		if err := digits(true); err != nil {
			return 0, err
		}
	default:
		return 0, bad(b)
	}
	if b, ok := l.at(k); ok && b == '.' {
		k++
		if err := digits(true); err != nil {
			return 0, err
		}
	}
	if b, ok := l.at(k); ok && (b == 'e' || b == 'E') {
		k++
		if b, ok := l.at(k); ok && (b == '+' || b == '-') {
			k++
		}
		if err := digits(true); err != nil {
			return 0, err
		}
	}
	return k, nil
}

func (l *listScan) list(each func(key string, w *wireClient) error) error {
	c, err := l.peek()
	if err != nil {
		return err
	}
	end := byte(']')
	if c == '{' {
		end = '}'
	}
	l.pos++
	if c, err = l.peek(); err != nil {
		return err
	}
	if c == end {
		l.pos++
		return nil
	}
	for {
		var key string
		if end == '}' {
			k, err := l.value()
			if err != nil {
				return err
			}
			if len(k) < 2 || k[0] != '"' || json.Unmarshal(k, &key) != nil {
				return &syntaxError{fmt.Sprintf("invalid object key %s", providers.TruncateMessage(string(k)))}
			}
			if c, err = l.peek(); err != nil {
				return err
			}
			if c != ':' {
				return &syntaxError{fmt.Sprintf("invalid character %q after object key", c)}
			}
			l.pos++
		}
		v, err := l.value()
		if err != nil {
			return err
		}
		var w wireClient
		if !fastClient(v, &w) {
			w = wireClient{}
			if err := json.Unmarshal(v, (*wirePlain)(&w)); err != nil {
				return err
			}
		}
		if err := each(key, &w); err != nil {
			return err
		}
		if c, err = l.peek(); err != nil {
			return err
		}
		l.pos++
		switch c {
		case ',':
		case end:
			return nil
		default:
			return &syntaxError{fmt.Sprintf("invalid character %q after list entry", c)}
		}
	}
}
