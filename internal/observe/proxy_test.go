package observe_test

import (
	"io"
	"net"
	"sync"
	"testing"
)

// tcpProxy forwards 127.0.0.1:port to a target and can cut every
// connection and refuse new ones, to make Postgres unreachable for real.
type tcpProxy struct {
	t      *testing.T
	target string
	ln     net.Listener

	mu    sync.Mutex
	cut   bool
	hang  bool // while cut: accept and hold connections without an answer
	conns map[net.Conn]bool
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{t: t, target: target, ln: ln, conns: map[net.Conn]bool{}}
	go p.accept()
	t.Cleanup(func() { ln.Close(); p.Cut() })
	return p
}

func (p *tcpProxy) Addr() string { return p.ln.Addr().String() }

func (p *tcpProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.cut {
			if p.hang {
				p.conns[c] = true // held, never answered, closed by Resume/Cut
			} else {
				c.Close()
			}
			p.mu.Unlock()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns[c], p.conns[up] = true, true
		p.mu.Unlock()
		go p.pipe(c, up)
		go p.pipe(up, c)
	}
}

func (p *tcpProxy) pipe(dst, src net.Conn) {
	_, _ = io.Copy(dst, src)
	dst.Close()
	src.Close()
}

// Cut closes every open connection and refuses new ones until Resume.
func (p *tcpProxy) Cut() { p.cutWith(false) }

// Hang closes every open connection; new ones are accepted and never
// answered, like a server behind a dead network path.
func (p *tcpProxy) Hang() { p.cutWith(true) }

func (p *tcpProxy) cutWith(hang bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut, p.hang = true, hang
	for c := range p.conns {
		c.Close()
	}
	p.conns = map[net.Conn]bool{}
}

// Resume accepts connections again.
func (p *tcpProxy) Resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut, p.hang = false, false
	for c := range p.conns {
		c.Close() // held while hanging
	}
	p.conns = map[net.Conn]bool{}
}
