package mgid

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"syncer/internal/testutil"
)

// A login cancelled by its caller (a sibling's failure, a shutdown) logs
// at DEBUG, not WARN: the run reports the real failure once. A login the
// provider refuses still warns.
func TestCancelledLoginIsNotAWarning(t *testing.T) {
	t.Parallel()
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(2 * time.Second):
		}
	}))
	defer hang.Close()
	logs := &testutil.LockedBuffer{}
	c := New(hang.URL, testLogin, testPassword, WithRetry(fastRetry), WithLogger(newTextLogger(logs)))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := c.AccountID(ctx); err == nil {
		t.Fatal("login against a hanging server succeeded")
	}
	out := logs.String()
	if strings.Contains(out, "level=WARN") || !strings.Contains(out, `level=DEBUG msg="mgid login cancelled"`) {
		t.Errorf("a cancelled login logged:\n%s", out)
	}

	f := newFake(t, nil)
	logs = &testutil.LockedBuffer{}
	c = New(f.url, testLogin, "wrong-"+testPassword, WithRetry(fastRetry), WithLogger(newTextLogger(logs)))
	if _, err := c.AccountID(context.Background()); err == nil {
		t.Fatal("a wrong password logged in")
	}
	if n := strings.Count(logs.String(), "level=WARN"); n != 1 {
		t.Errorf("%d WARN lines for a refused login, want 1:\n%s", n, logs.String())
	}
}
