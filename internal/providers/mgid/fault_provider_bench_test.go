package mgid

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"syncer/internal/providers"
	"syncer/internal/sim"
)

// BenchmarkClientsDecode100k: the clients list of 100,000 clients (the
// simulator's answer, rendered once and served from memory) decoded by
// Client.Clients: the cost of the streaming limits and the duplicate check
// (BENCHMARKS.md, "Changes measured side by side"; before them Clients took
// no restart argument).
func BenchmarkClientsDecode100k(b *testing.B) {
	s := sim.New(sim.Options{Clients: 100_000})
	src := httptest.NewServer(s)
	defer src.Close()
	login := func() string {
		resp, err := http.Post(src.URL+"/v1/auth/agencies-token", "application/x-www-form-urlencoded", strings.NewReader("login=demo-agency&password=demo-password"))
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return string(body)
	}
	loginBody := login()
	req, _ := http.NewRequest("GET", src.URL+"/v1/agencies/1001/clients", nil)
	tok := loginBody[strings.Index(loginBody, `"token":"`)+9:]
	tok = tok[:strings.Index(tok, `"`)]
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	list, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/auth/agencies-token", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, loginBody) })
	mux.HandleFunc("GET /v1/agencies/1001/clients", func(w http.ResponseWriter, r *http.Request) { w.Write(list) })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := New(srv.URL, "demo-agency", "demo-password", WithHTTPClient(&http.Client{Timeout: time.Minute}), WithRetry(providers.NoRetry))
	b.SetBytes(int64(len(list)))
	b.ResetTimer()
	for range b.N {
		n := 0
		if err := c.Clients(context.Background(), nil, func(ClientWallet) error { n++; return nil }); err != nil || n != 100_000 {
			b.Fatal(err, n)
		}
	}
}
