package sim

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Fault modes (Faults.Mode): one named, deterministic fault injected into
// the matching requests, for the fault tests and `syncer sim -fault`.
const (
	// Answers of the data endpoints (everything but the token endpoints):
	Fault5xx        = "5xx"         // 500 with the provider's own error body
	Fault429        = "429"         // 429 with Retry-After in seconds
	Fault429Date    = "429-date"    // 429 with Retry-After as an HTTP date
	FaultHTML200    = "html-200"    // a proxy's HTML page with status 200 instead of a 2xx answer
	FaultTruncate   = "truncate"    // a 2xx body that ends cleanly after CutAfter bytes: the JSON stops short
	FaultReset      = "reset"       // the connection is closed after CutAfter bytes of a 2xx body
	FaultStall      = "stall"       // after CutAfter bytes of a 2xx body, nothing more until the client gives up
	FaultDrip       = "drip"        // a 2xx body sent DripBytes at a time, one piece every DripEvery
	FaultHugeField  = "huge-field"  // the first client's email in the clients list is HugeField bytes long
	FaultDupIDs     = "dup-ids"     // the clients list and spend reports end with their first entry again
	FaultNaN        = "nan-amount"  // the first amount of the clients list or a spend report is "NaN"
	FaultOverflow   = "overflow"    // the first amount of the clients list or a spend report is 10^30
	FaultTokenOnce  = "token-once"  // every issued token is revoked by its first use: tokens expire mid-run
	FaultTokenHang  = "token-hang"  // the token endpoints (MGID login included) never answer
	FaultTokenError = "token-error" // the token endpoints answer 500
)

// FaultModes lists the accepted Faults.Mode values.
var FaultModes = []string{Fault5xx, Fault429, Fault429Date, FaultHTML200, FaultTruncate, FaultReset, FaultStall,
	FaultDrip, FaultHugeField, FaultDupIDs, FaultNaN, FaultOverflow, FaultTokenOnce, FaultTokenHang, FaultTokenError}

// faultEndpoints are the values Faults.Endpoint accepts.
var faultEndpoints = []string{EndpointMGIDToken, EndpointMGIDAgency, EndpointMGIDClients, EndpointMGIDClient, EndpointMGIDSpend,
	EndpointMGIDTransfer, EndpointGmediaToken, EndpointGmediaCheck, EndpointFirstlightToken, EndpointFirstlightRedeem}

// Defaults of the knobs of the fault modes.
const (
	DefaultCutAfter   = 2048
	DefaultHugeField  = 100 << 20
	DefaultDripBytes  = 64
	DefaultDripEvery  = 20 * time.Millisecond
	DefaultRetryAfter = time.Second
)

func validMode(m string) bool {
	if m == "" {
		return true
	}
	for _, v := range FaultModes {
		if v == m {
			return true
		}
	}
	return false
}

func tokenMode(m string) bool { return m == FaultTokenHang || m == FaultTokenError }

type modeKey struct{}

// modeOf is the fault mode chosen for this request by handle ("" for none).
func modeOf(r *http.Request) string {
	m, _ := r.Context().Value(modeKey{}).(string)
	return m
}

// takeMode decides whether this request gets the fault mode: every matching
// request, or only the first Burst after SetFaults.
func (s *Server) takeMode(f *Faults, endpoint string, isToken bool) string {
	if f.Mode == "" || tokenMode(f.Mode) != isToken || (f.Endpoint != "" && f.Endpoint != endpoint) {
		return ""
	}
	if f.Mode == FaultTokenOnce {
		return "" // applied where tokens are checked, see revokeUsed
	}
	if f.Burst > 0 && s.burst.Add(1) > int64(f.Burst) {
		return ""
	}
	return f.Mode
}

// applyMode serves r under mode: it answers in the handler's place, wraps
// the writer the handler writes to, or passes the mode on to the handler.
func (s *Server) applyMode(mode string, f *Faults, p provider, w http.ResponseWriter, r *http.Request, h http.HandlerFunc) {
	cut := f.CutAfter
	if cut <= 0 {
		cut = DefaultCutAfter
	}
	switch mode {
	case Fault5xx, FaultTokenError:
		p.serverError(s, w, r)
	case Fault429, Fault429Date:
		ra := f.RetryAfter
		if ra <= 0 {
			ra = DefaultRetryAfter
		}
		if mode == Fault429 {
			w.Header().Set("Retry-After", strconv.Itoa(int((ra+time.Second-1)/time.Second)))
		} else {
			w.Header().Set("Retry-After", s.now().Add(ra).UTC().Format(http.TimeFormat))
		}
		writeRaw(w, http.StatusTooManyRequests, []byte(`{"errors":["Too many requests"]}`))
	case FaultTokenHang:
		s.hang(r)
	case FaultHTML200:
		h(&malformedWriter{ResponseWriter: w, garble: true}, r)
	case FaultTruncate:
		h(&malformedWriter{ResponseWriter: w, keep: cut}, r)
	case FaultReset, FaultStall, FaultDrip:
		h(&breakWriter{ResponseWriter: w, s: s, r: r, mode: mode, left: cut, f: f}, r)
	default: // data faults: the handler reads the mode
		h(w, r.WithContext(context.WithValue(r.Context(), modeKey{}, mode)))
	}
}

// breakWriter spoils a 2xx body: it closes the connection (reset) or stops
// sending (stall) after `left` bytes, or sends it slowly (drip).
type breakWriter struct {
	http.ResponseWriter
	s      *Server
	r      *http.Request
	f      *Faults
	mode   string
	left   int
	status int
}

func (b *breakWriter) Unwrap() http.ResponseWriter { return b.ResponseWriter }

func (b *breakWriter) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
		b.ResponseWriter.WriteHeader(code)
	}
}

func (b *breakWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.WriteHeader(http.StatusOK)
	}
	if b.status/100 != 2 {
		return b.ResponseWriter.Write(p)
	}
	rc := http.NewResponseController(b.ResponseWriter)
	if b.mode == FaultDrip {
		piece, every := b.f.DripBytes, b.f.DripEvery
		if piece <= 0 {
			piece = DefaultDripBytes
		}
		if every <= 0 {
			every = DefaultDripEvery
		}
		written := 0
		for written < len(p) {
			n := min(piece, len(p)-written)
			if _, err := b.ResponseWriter.Write(p[written : written+n]); err != nil {
				return written, err
			}
			_ = rc.Flush()
			written += n
			if !b.s.wait(b.r, every) {
				return written, errMalformed
			}
		}
		return written, nil
	}
	if b.left <= 0 {
		return 0, errMalformed
	}
	n := min(len(p), b.left)
	b.left -= n
	if _, err := b.ResponseWriter.Write(p[:n]); err != nil {
		return 0, err
	}
	if b.left > 0 {
		return n, nil
	}
	_ = rc.Flush()
	if b.mode == FaultStall {
		b.s.hang(b.r)
	} else if conn, _, err := rc.Hijack(); err == nil {
		_ = conn.Close()
	}
	return n, errMalformed
}

// revokeUsed, under FaultTokenOnce, revokes a token as it is used, so the
// next request with it is refused as an expired token would be.
func (s *Server) revokeUsed(raw string) {
	if f := s.faults.Load(); f.Mode != FaultTokenOnce {
		return
	}
	s.tokMu.Lock()
	delete(s.tokens, raw)
	s.tokMu.Unlock()
}

// ExpireTokens revokes every token issued so far, as if they had all
// expired at once: the next request with any of them is refused.
func (s *Server) ExpireTokens() {
	s.tokMu.Lock()
	clear(s.tokens)
	s.tokMu.Unlock()
}

// hugeEmail writes the huge-field email, c<id>@ padded with x to n bytes,
// straight to w in pieces so the simulator never holds it.
func hugeEmail(w interface{ Write([]byte) (int, error) }, id int64, n int) error {
	head := fmt.Sprintf("c%d@", id)
	if _, err := w.Write([]byte(head)); err != nil {
		return err
	}
	pad := make([]byte, 32<<10)
	for i := range pad {
		pad[i] = 'x'
	}
	for left := n - len(head) - len("example.com"); left > 0; left -= len(pad) {
		if _, err := w.Write(pad[:min(left, len(pad))]); err != nil {
			return err
		}
	}
	_, err := w.Write([]byte("example.com"))
	return err
}
