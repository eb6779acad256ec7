// Package tcpproxy is a TCP proxy for fault tests. It runs in the test
// process between the code under test and a server (Postgres, a provider,
// the simulator) and breaks the connections on demand:
//
//	p := tcpproxy.Start(t, "127.0.0.1:5432") // listens on 127.0.0.1:0; closed in t.Cleanup
//	dial p.Addr() instead of the server
//	p.ResetAll()  // every open connection is reset (RST), as a crashed peer's would be
//	p.Blackhole() // bytes both ways are read and dropped and new connections are held
//	              // unanswered: a network that swallows packets
//	p.Refuse()    // new connections are reset at once: a server that is down
//	p.Restore()   // forward again; connections that lost bytes are reset first
//
// Every method is safe to call from any goroutine, at any time.
package tcpproxy

import (
	"errors"
	"io"
	"net"
	"sync"
	"testing"
)

// Proxy forwards TCP connections from Addr to a target address.
type Proxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	mode  mode
	conns map[*link]struct{}
	wg    sync.WaitGroup
}

type mode int

const (
	forward mode = iota
	blackhole
	refuse
)

// link is one proxied connection: the client's side and, unless it was
// accepted while blackholed, the server's.
type link struct {
	client, server net.Conn
	lost           bool // bytes were dropped: the stream is broken
}

// Start listens on 127.0.0.1:0 and forwards to target until the test ends.
func Start(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("tcpproxy: %v", err)
	}
	p := &Proxy{ln: ln, target: target, conns: map[*link]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.Close)
	return p
}

// Addr is the host:port to dial instead of the target.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Port is Addr's port.
func (p *Proxy) Port() int { return p.ln.Addr().(*net.TCPAddr).Port }

// ResetAll resets every open connection; new ones are served as the mode says.
func (p *Proxy) ResetAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for l := range p.conns {
		l.reset()
		delete(p.conns, l)
	}
}

// Blackhole swallows everything from now on: open connections stay open but
// nothing reaches either side, and new connections are accepted and held.
func (p *Proxy) Blackhole() { p.setMode(blackhole) }

// Refuse resets open connections and every new one, as a stopped server.
func (p *Proxy) Refuse() {
	p.setMode(refuse)
	p.ResetAll()
}

// Restore forwards again. Connections that lost bytes while blackholed (or
// never reached the target) are reset: their streams cannot be resumed.
func (p *Proxy) Restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode = forward
	for l := range p.conns {
		if l.lost || l.server == nil {
			l.reset()
			delete(p.conns, l)
		}
	}
}

// Close stops listening and resets every connection.
func (p *Proxy) Close() {
	_ = p.ln.Close()
	p.ResetAll()
	p.wg.Wait()
}

func (p *Proxy) setMode(m mode) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode = m
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		m := p.mode
		p.mu.Unlock()
		l := &link{client: c}
		switch m {
		case refuse:
			l.reset()
			continue
		case forward:
			s, err := net.Dial("tcp", p.target)
			if err != nil {
				l.reset()
				continue
			}
			l.server = s
		}
		p.mu.Lock()
		p.conns[l] = struct{}{}
		p.mu.Unlock()
		p.wg.Add(1)
		go p.pipe(l, l.client, l.server)
		if l.server != nil {
			p.wg.Add(1)
			go p.pipe(l, l.server, l.client)
		}
	}
}

// pipe copies src to dst (nil: nowhere) chunk by chunk, dropping the chunks
// read while the proxy is blackholed. When src ends, the link is closed.
func (p *Proxy) pipe(l *link, src, dst net.Conn) {
	defer p.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			drop := p.mode != forward || dst == nil
			if drop {
				l.lost = true
			}
			p.mu.Unlock()
			if !drop {
				if _, werr := dst.Write(buf[:n]); werr != nil {
					err = werr
				}
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				l.reset()
			} else {
				l.close()
			}
			p.mu.Lock()
			delete(p.conns, l)
			p.mu.Unlock()
			return
		}
	}
}

func (l *link) reset() {
	for _, c := range []net.Conn{l.client, l.server} {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // RST, not FIN
		}
		if c != nil {
			_ = c.Close()
		}
	}
}

func (l *link) close() {
	for _, c := range []net.Conn{l.client, l.server} {
		if c != nil {
			_ = c.Close()
		}
	}
}
