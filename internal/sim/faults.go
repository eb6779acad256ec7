package sim

import (
	"errors"
	"net/http"
	"sync/atomic"
	"time"
)

type provider uint8

const (
	provMGID provider = iota + 1
	provGmedia
	provFirstlight
)

// serverError is the provider's own 500 answer.
func (p provider) serverError(s *Server, w http.ResponseWriter, r *http.Request) {
	switch p {
	case provMGID:
		writeRaw(w, http.StatusInternalServerError, []byte(`{"errors":["Internal server error"]}`))
	case provGmedia:
		writeRaw(w, http.StatusInternalServerError, []byte(`{"statusCode":500,"message":"Please contact Gmedia"}`))
	case provFirstlight:
		s.firstlightFailure(w, r, http.StatusInternalServerError, codeSystemFailure)
	}
}

// handle registers h behind the request counter and, unless it is a token
// endpoint, the injected faults.
func (s *Server) handle(pattern, endpoint string, p provider, isToken bool, h http.HandlerFunc) {
	c, ok := s.counts[endpoint]
	if !ok {
		c = new(atomic.Int64)
		s.counts[endpoint] = c
	}
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		c.Add(1)
		f := s.faults.Load()
		if mode := s.takeMode(f, endpoint, isToken); mode != "" {
			s.applyMode(mode, f, p, w, r, h)
			return
		}
		if isToken {
			h(w, r)
			return
		}
		n := s.seq.Add(1)
		roll := func(salt uint64) float64 { return unit(hash2(hash2(s.o.Seed^saltFault, salt), n)) }
		if f.Latency > 0 && !s.wait(r, f.Latency) {
			return
		}
		if f.DropRate > 0 && roll(1) < f.DropRate {
			dropConnection(w)
			return
		}
		if f.ErrorRate > 0 && roll(2) < f.ErrorRate {
			p.serverError(s, w, r)
			return
		}
		if f.MalformedRate > 0 && roll(3) < f.MalformedRate {
			mw := &malformedWriter{ResponseWriter: w, keep: 1 + int(hash2(s.o.Seed, n)%16), garble: roll(4) < 0.5}
			h(mw, r)
			return
		}
		h(w, r)
	})
}

// wait sleeps for d unless the request or the simulator ends first; it
// reports whether the full time passed.
func (s *Server) wait(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
	case <-s.closed:
	}
	return false
}

// hang blocks until the client gives up or the simulator closes.
func (s *Server) hang(r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-s.closed:
	}
}

// dropConnection closes the connection without a byte of answer, as a
// crashed proxy would.
func dropConnection(w http.ResponseWriter) {
	if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
		_ = conn.Close()
		return
	}
	// HTTP/2 cannot be hijacked; aborting the handler resets the stream.
	panic(http.ErrAbortHandler)
}

var errMalformed = errors.New("sim: malformed answer injected")

// malformedWriter spoils a 2xx answer: either it truncates the body after a
// few bytes (a strict prefix of a JSON object is never valid JSON) or it
// replaces it with a proxy's HTML page. Error answers pass untouched. Writes
// past the damage fail, so a streaming handler stops early.
type malformedWriter struct {
	http.ResponseWriter
	keep      int  // bytes of the real body to let through when truncating
	garble    bool // answer HTML instead of truncating
	status    int
	wroteHTML bool
}

func (m *malformedWriter) Unwrap() http.ResponseWriter { return m.ResponseWriter }

func (m *malformedWriter) WriteHeader(code int) {
	if m.status != 0 {
		return
	}
	m.status = code
	if code >= 200 && code < 300 {
		m.Header().Del("Content-Length")
		if m.garble {
			m.Header().Set("Content-Type", "text/html")
		}
	}
	m.ResponseWriter.WriteHeader(code)
}

func (m *malformedWriter) Write(p []byte) (int, error) {
	if m.status == 0 {
		m.WriteHeader(http.StatusOK)
	}
	if m.status < 200 || m.status >= 300 {
		return m.ResponseWriter.Write(p)
	}
	if m.garble {
		if !m.wroteHTML {
			m.wroteHTML = true
			_, _ = m.ResponseWriter.Write([]byte("<html><body><h1>502 Bad Gateway</h1></body></html>"))
		}
		return 0, errMalformed
	}
	if m.keep <= 0 {
		return 0, errMalformed
	}
	n := min(len(p), m.keep)
	m.keep -= n
	if _, err := m.ResponseWriter.Write(p[:n]); err != nil {
		return 0, err
	}
	if n < len(p) {
		return n, errMalformed
	}
	return n, nil
}
