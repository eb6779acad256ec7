package testutil

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// Setup is go-github's setup(t): a fresh ServeMux behind an httptest server
// on a free port, and the server's base URL for the client under test. The
// test registers the provider's endpoints on mux; the server closes when the
// test ends.
func Setup(t testing.TB) (mux *http.ServeMux, baseURL string) {
	t.Helper()
	mux = http.NewServeMux()
	return mux, Serve(t, mux)
}

// Serve serves h on a free port until the test ends and returns its base URL.
func Serve(t testing.TB, h http.Handler) (baseURL string) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}
