package config

import (
	"strings"
	"testing"
)

func TestValidateHTTPAddr(t *testing.T) {
	t.Parallel()
	cases := []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.1:9188", true},
		{":9188", true},
		{"127.0.0.1:0", true},
		{"[::1]:9188", true},
		{"", true},    // disabled (YAML http_addr: "")
		{"off", true}, // disabled
		{"9188", false},
		{"127.0.0.1:http", false},
		{"127.0.0.1:70000", false},
		{"http://127.0.0.1:9188", false},
	}
	for _, tc := range cases {
		t.Run(tc.addr, func(t *testing.T) {
			c := validConfig()
			c.HTTPAddr = tc.addr
			err := c.Validate()
			if tc.ok && err != nil {
				t.Fatalf("Validate(%q) = %v, want nil", tc.addr, err)
			}
			if !tc.ok && (err == nil || !strings.Contains(err.Error(), "SYNCER_HTTP_ADDR")) {
				t.Fatalf("Validate(%q) = %v, want an error naming SYNCER_HTTP_ADDR", tc.addr, err)
			}
		})
	}
}

func TestHTTPAddrFromEnvironmentAndShown(t *testing.T) {
	t.Parallel()
	c, err := LoadEnviron("", []string{"SYNCER_HTTP_ADDR=127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPAddr != "127.0.0.1:0" {
		t.Fatalf("HTTPAddr = %q, want 127.0.0.1:0", c.HTTPAddr)
	}
	if out := c.Redacted(); !strings.Contains(out, "http_addr: 127.0.0.1:0") {
		t.Fatalf("Redacted does not show http_addr:\n%s", out)
	}
	if d := Defaults().HTTPAddr; d != "127.0.0.1:9188" {
		t.Fatalf("default HTTPAddr = %q", d)
	}
}

// SYNCER_HTTP_ADDR=off turns the listener off; an empty variable, like any
// empty variable, means the default. (Several replicas on one host started
// with SYNCER_HTTP_ADDR= all tried 127.0.0.1:9188 and all but one exited.)
func TestHTTPAddrOff(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		env     string
		enabled bool
		addr    string
	}{
		{"SYNCER_HTTP_ADDR=off", false, "off"},
		{"SYNCER_HTTP_ADDR=", true, "127.0.0.1:9188"},
		{"SYNCER_HTTP_ADDR=127.0.0.1:0", true, "127.0.0.1:0"},
	} {
		c, err := LoadEnviron("", []string{tc.env})
		if err != nil {
			t.Fatal(err)
		}
		if c.HTTPEnabled() != tc.enabled || c.HTTPAddr != tc.addr {
			t.Errorf("%s: HTTPEnabled() = %v, HTTPAddr = %q; want %v, %q", tc.env, c.HTTPEnabled(), c.HTTPAddr, tc.enabled, tc.addr)
		}
	}
}
