package tcpproxy_test

import (
	"bufio"
	"io"
	"net"
	"testing"
	"time"

	"syncer/internal/testutil/tcpproxy"
)

// echo serves lines back on a free port.
func echo(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(c, c) }()
		}
	}()
	return ln.Addr().String()
}

func roundTrip(c net.Conn, msg string, wait time.Duration) (string, error) {
	_ = c.SetDeadline(time.Now().Add(wait))
	if _, err := c.Write([]byte(msg + "\n")); err != nil {
		return "", err
	}
	return bufio.NewReader(c).ReadString('\n')
}

func TestProxyModes(t *testing.T) {
	t.Parallel()
	p := tcpproxy.Start(t, echo(t))
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got, err := roundTrip(c, "a", 2*time.Second); err != nil || got != "a\n" {
		t.Fatalf("forward: %q %v", got, err)
	}

	p.Blackhole()
	if got, err := roundTrip(c, "b", 200*time.Millisecond); err == nil {
		t.Fatalf("blackhole answered %q", got)
	} else if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		t.Fatalf("blackhole: want a timeout, got %v", err)
	}
	held, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatalf("blackhole refused a new connection: %v", err)
	}
	if _, err := roundTrip(held, "c", 200*time.Millisecond); err == nil {
		t.Fatal("blackhole answered a new connection")
	}

	p.Restore()
	// The connections that lost bytes were reset.
	if _, err := roundTrip(c, "d", 2*time.Second); err == nil {
		t.Fatal("a connection that lost bytes survived Restore")
	}
	c2, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	if got, err := roundTrip(c2, "e", 2*time.Second); err != nil || got != "e\n" {
		t.Fatalf("after restore: %q %v", got, err)
	}

	p.ResetAll()
	if _, err := roundTrip(c2, "f", 2*time.Second); err == nil {
		t.Fatal("ResetAll left a connection working")
	}

	p.Refuse()
	c3, err := net.Dial("tcp", p.Addr())
	if err == nil {
		if _, err := roundTrip(c3, "g", 2*time.Second); err == nil {
			t.Fatal("Refuse served a connection")
		}
		c3.Close()
	}
}
