package sim_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"syncer/internal/sim"
)

// discard is a ResponseWriter that keeps nothing, so a benchmark measures the
// simulator and not a recorder's buffer.
type discard struct {
	h      http.Header
	status int
	n      int64
}

func (d *discard) Header() http.Header {
	if d.h == nil {
		d.h = http.Header{}
	}
	return d.h
}
func (d *discard) WriteHeader(code int) { d.status = code }
func (d *discard) Write(p []byte) (int, error) {
	d.n += int64(len(p))
	return len(p), nil
}

func benchLogin(b *testing.B, s *sim.Server) string {
	b.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("POST", "/v1/auth/agencies-token", strings.NewReader("login=demo-agency&password=demo-password"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	s.ServeHTTP(rec, req)
	var tok struct{ Token string }
	if err := json.Unmarshal(rec.Body.Bytes(), &tok); err != nil || tok.Token == "" {
		b.Fatalf("login: %d %s", rec.Code, rec.Body)
	}
	return tok.Token
}

func benchGet(b *testing.B, clients int, path string) {
	s := sim.New(sim.Options{Clients: clients})
	tok := benchLogin(b, s)
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest("GET", path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		d := &discard{}
		s.ServeHTTP(d, req)
		if d.status != 200 {
			b.Fatalf("HTTP %d", d.status)
		}
		b.SetBytes(d.n)
	}
}

func BenchmarkClients100k(b *testing.B) { benchGet(b, 100_000, "/v1/agencies/1001/clients") }
func BenchmarkClients1M(b *testing.B)   { benchGet(b, 1_000_000, "/v1/agencies/1001/clients") }
func BenchmarkAgency1M(b *testing.B)    { benchGet(b, 1_000_000, "/v1/agencies/1001") }
func BenchmarkSpend10kClients90Days(b *testing.B) {
	benchGet(b, 10_000, "/v1/agencies/1001/clients-spent-reports?dateStart=2025-01-01&dateEnd=2025-03-31")
}

func BenchmarkMawthoqCheck(b *testing.B) {
	s := sim.New(sim.Options{})
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("POST", sim.PathGmediaToken, strings.NewReader(`{"client_id":"sim-gmedia","client_secret":"sim-gmedia-secret"}`))
	req.Header.Set("Content-Type", "application/json")
	s.ServeHTTP(rec, req)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.Unmarshal(rec.Body.Bytes(), &tok)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest("POST", sim.PathGmediaCheck, strings.NewReader(`{"platform":"tiktok","account":"1000000008"}`))
			req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
			d := &discard{}
			s.ServeHTTP(d, req)
			if d.status != 200 && d.status != 404 {
				b.Errorf("HTTP %d", d.status)
			}
		}
	})
}
