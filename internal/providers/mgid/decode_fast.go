package mgid

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"

	"syncer/internal/money"
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

// plainString reads a string with no escape in it, returning its bytes.
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
	if bytes.IndexByte(v, '\\') >= 0 {
		return nil, false
	}
	s.i += n + 2
	return v, true
}

// scalar reads a number or a plain string, quotes included.
func (s *scan) scalar() ([]byte, bool) {
	s.ws()
	start := s.i
	if s.i < len(s.b) && s.b[s.i] == '"' {
		if _, ok := s.plainString(); !ok {
			return nil, false
		}
		return s.b[start:s.i], true
	}
	for s.i < len(s.b) {
		c := s.b[s.i]
		if c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E' || (c >= '0' && c <= '9') {
			s.i++
			continue
		}
		break
	}
	return s.b[start:s.i], s.i > start
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

// amount reads an amount through money.Amount's own UnmarshalJSON, as
// encoding/json would; an amount it refuses is declined (encoding/json then
// says why in its words).
func (s *scan) amount(a *money.Amount) bool {
	v, ok := s.scalar()
	return ok && a.UnmarshalJSON(v) == nil
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

// skip passes over one value of any kind.
func (s *scan) skip() bool {
	s.ws()
	depth := 0
	for s.i < len(s.b) {
		switch c := s.b[s.i]; c {
		case '"':
			s.i++
			for s.i < len(s.b) && s.b[s.i] != '"' {
				if s.b[s.i] == '\\' {
					s.i++
				}
				s.i++
			}
			s.i++
		case '{', '[':
			depth++
			s.i++
		case '}', ']':
			if depth == 0 {
				return true // the end of the enclosing object: a bare scalar ended
			}
			depth--
			s.i++
		case ',':
			if depth == 0 {
				return true
			}
			s.i++
		default:
			s.i++
		}
		if depth == 0 && s.i <= len(s.b) {
			// A string or a container just closed at the top: done. A bare
			// scalar goes on to the next ',' or closing bracket.
			if c := s.b[s.i-1]; c == '"' || c == '}' || c == ']' {
				return true
			}
		}
	}
	return depth == 0
}
