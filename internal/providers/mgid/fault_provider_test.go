package mgid

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"syncer/internal/providers"
)

const twoClients = `{"id":5001,"email":"a@example.com","wallet":{"balance":"1.00"}},{"id":5002,"email":"b@example.com","wallet":{"balance":"2.00"}}`

// A list that breaks after clients were delivered is asked for again, and
// the caller is told to start over first: in the end it holds each client
// once. Without a restart callback the break is returned instead.
func TestClientsRestartAfterBreak(t *testing.T) {
	t.Parallel()
	cut := body(200, `{"clients":[`+twoClients+`,{"id":50`)
	full := body(200, `{"clients":[`+twoClients+`,{"id":5003,"wallet":{}}]}`)
	f := newFake(t, nil)
	hits := f.handle("GET /v1/agencies/1001/clients", sequence(cut, full)(t))
	var got []int64
	restarts := 0
	err := f.client().Clients(context.Background(), func() error { restarts++; got = got[:0]; return nil }, func(w ClientWallet) error {
		got = append(got, w.ID)
		return nil
	})
	if err != nil || fmt.Sprint(got) != "[5001 5002 5003]" || restarts != 1 || hits.Load() != 2 {
		t.Fatalf("err %v, clients %v, %d restarts, %d requests; want [5001 5002 5003], 1, 2", err, got, restarts, hits.Load())
	}
}

// What is impossible in an answer is Malformed and not asked for again.
func TestListsRefuseImpossibleAnswers(t *testing.T) {
	t.Parallel()
	huge := `{"clients":[{"id":5001,"email":"` + strings.Repeat("x", MaxListEntry) + `","wallet":{}}]}`
	long := `{"clients":[{"id":5001,"email":"` + strings.Repeat("x", MaxEmail+1) + `","wallet":{}}]}`
	for _, tc := range []struct {
		name, body, want string
		spend            bool
	}{
		{"duplicate client", `{"clients":[` + twoClients + `,{"id":5002,"wallet":{}}]}`, "client 5002 is in the answer twice", false},
		{"duplicate client in the map form", `{"clients":{"5001":{"wallet":{}},"5002":{"id":5001,"wallet":{}}}}`, "twice", false},
		{"entry over 64 KiB", huge, "over the limit of 65536 bytes", false},
		{"email over 1 KiB", long, "email of 1025 bytes", false},
		{"unknown field over 64 KiB", `{"x":"` + strings.Repeat("y", MaxListEntry+10) + `","clients":[]}`, "over the limit", false},
		{"NaN", `{"clients":[{"id":5001,"wallet":{"balance":"NaN"}}]}`, "NaN", false},
		{"overflow", `{"clients":[{"id":5001,"wallet":{"balance":1e30}}]}`, "1e30", false},
		{"duplicate client in spend", `{"clients-spent-reports":[{"id":5001,"spent":"1"},{"id":5001,"spent":"2"}]}`, "client 5001 is in the report twice", true},
		{"NaN spend", `{"clients-spent-reports":[{"id":5001,"spent":"NaN"}]}`, "NaN", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, nil)
			var err error
			if tc.spend {
				hits := f.handle("GET /v1/agencies/1001/clients-spent-reports", body(200, tc.body)(t))
				day := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
				err = f.client().Spend(context.Background(), day, day, nil, func() error { return nil }, func(ClientSpend) error { return nil })
				if hits.Load() != 1 {
					t.Errorf("%d requests, want 1", hits.Load())
				}
			} else {
				hits := f.handle("GET /v1/agencies/1001/clients", body(200, tc.body)(t))
				err = f.client().Clients(context.Background(), func() error { return nil }, func(ClientWallet) error { return nil })
				if hits.Load() != 1 {
					t.Errorf("%d requests, want 1", hits.Load())
				}
			}
			pe := asProviderError(t, err)
			if pe.Kind != providers.Malformed || !strings.Contains(err.Error(), tc.want) || providers.Class(err) != "malformed" {
				t.Errorf("err = %v (kind %v), want malformed saying %q", err, pe.Kind, tc.want)
			}
			if len(err.Error()) > 1200 {
				t.Errorf("error of %d bytes: a provider's text must be cut", len(err.Error()))
			}
		})
	}
}

// A 100 MiB field is refused after 64 KiB: memory stays flat while the
// answer streams in.
func TestHugeFieldIsRefusedWhileStreaming(t *testing.T) {
	t.Parallel()
	f := newFake(t, nil)
	f.handle("GET /v1/agencies/1001/clients", func(*testing.T) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"clients":[{"id":5001,"email":"`)
			chunk := []byte(strings.Repeat("x", 1<<20))
			for range 100 {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
			fmt.Fprint(w, `"}]}`)
		}
	}(t))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	err := f.client().Clients(context.Background(), func() error { return nil }, func(ClientWallet) error { return nil })
	runtime.ReadMemStats(&after)
	if pe := asProviderError(t, err); pe.Kind != providers.Malformed {
		t.Fatalf("err = %v, want malformed", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 16<<20 {
		t.Errorf("allocated %d MiB reading a list with a 100 MiB field", grew>>20)
	}
}

func TestIDSet(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		ids  []int64
		want int // index of the first repeat, -1 for none
	}{
		{"ascending", []int64{1, 2, 3, 10}, -1},
		{"ascending repeat", []int64{1, 2, 2}, 2},
		{"unordered", []int64{5, 3, 4, 9}, -1},
		{"unordered repeat of the first", []int64{5, 3, 4, 5}, 3},
		{"ascending repeat of the first", []int64{1, 2, 3, 1}, 3},
		{"repeat after a smaller id", []int64{3, 1, 3}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var s idSet
			got := -1
			for i, id := range tc.ids {
				if !s.add(id) {
					got = i
					break
				}
			}
			if got != tc.want {
				t.Errorf("%v: first repeat at %d, want %d", tc.ids, got, tc.want)
			}
			s.reset()
			if !s.add(tc.ids[0]) {
				t.Errorf("%v: after reset the first id is a repeat", tc.ids)
			}
		})
	}
}

// A list out of id order is passed on whole, a repeated client included:
// finding it would take a set of every id, which grows with the list, so
// the store refuses it instead (the jobs' FaultDupIDs case).
func TestClientsOutOfOrderLeaveRepeatsToTheConsumer(t *testing.T) {
	t.Parallel()
	f := newFake(t, nil)
	f.handle("GET /v1/agencies/1001/clients", body(200, `{"clients":[`+twoClients+`,{"id":5001,"wallet":{}}]}`)(t))
	var got []int64
	err := f.client().Clients(context.Background(), nil, func(c ClientWallet) error {
		got = append(got, c.ID)
		return nil
	})
	if err != nil || fmt.Sprint(got) != "[5001 5002 5001]" {
		t.Fatalf("err %v, clients %v; want [5001 5002 5001]", err, got)
	}
}
