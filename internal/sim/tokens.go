package sim

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// realm says which provider issued a token: a token of one provider is no
// good at another.
type realm uint8

const (
	realmMGID realm = iota + 1
	realmGmedia
	realmFirstlight
)

type token struct {
	realm   realm
	agency  int // index into Server.agencies, MGID only
	expires time.Time
}

// sweepEvery bounds the token map: every so many issues, expired tokens go.
const sweepEvery = 1024

func (s *Server) issueToken(rl realm, agency int, prefix string) string {
	now := s.now()
	tok := randomToken(prefix)
	s.tokMu.Lock()
	defer s.tokMu.Unlock()
	s.issued++
	if s.issued%sweepEvery == 0 {
		for k, t := range s.tokens {
			if !now.Before(t.expires) {
				delete(s.tokens, k)
			}
		}
	}
	s.tokens[tok] = token{realm: rl, agency: agency, expires: now.Add(s.o.TokenTTL)}
	return tok
}

// bearer returns the live token of realm rl sent in the Authorization header.
func (s *Server) bearer(r *http.Request, rl realm) (token, bool) {
	raw, ok := bearerValue(r.Header.Get("Authorization"))
	if !ok {
		return token{}, false
	}
	s.tokMu.RLock()
	t, ok := s.tokens[raw]
	s.tokMu.RUnlock()
	if !ok || t.realm != rl || !s.now().Before(t.expires) {
		return token{}, false
	}
	s.revokeUsed(raw)
	return t, true
}

func bearerValue(h string) (string, bool) {
	const p = "Bearer "
	if len(h) <= len(p) || !strings.EqualFold(h[:len(p)], p) {
		return "", false
	}
	v := strings.TrimSpace(h[len(p):])
	return v, v != ""
}

// ttlSeconds is the expires_in of OAuth-style token answers.
func (s *Server) ttlSeconds() int64 { return int64(s.o.TokenTTL / time.Second) }

// maxBody bounds every request body the simulator reads.
const maxBody = 64 << 10

// params reads the named fields from a JSON object body or, for any other
// content type, from the form (body or query): token endpoints are called
// both ways. JSON numbers are returned in their literal form.
func params(w http.ResponseWriter, r *http.Request, keys ...string) map[string]string {
	out := make(map[string]string, len(keys))
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if strings.Contains(strings.ToLower(r.Header.Get("Content-Type")), "json") {
		var m map[string]json.RawMessage
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			return out
		}
		for _, k := range keys {
			raw, ok := m[k]
			if !ok {
				continue
			}
			var str string
			if json.Unmarshal(raw, &str) == nil {
				out[k] = str
			} else {
				out[k] = strings.TrimSpace(string(raw))
			}
		}
		return out
	}
	if err := r.ParseForm(); err != nil {
		return out
	}
	for _, k := range keys {
		if v := r.Form.Get(k); v != "" {
			out[k] = v
		}
	}
	return out
}

// secretEqual compares secrets in constant time.
func secretEqual(got, want string) bool {
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}
