package mgid

import (
	"context"
	"net/http"
	"reflect"
	"testing"
	"time"

	"syncer/internal/money"
	"syncer/internal/providers"
)

func TestSpend(t *testing.T) {
	t.Parallel()
	riyadh := time.FixedZone("AST", 3*3600)
	tests := []struct {
		name       string
		start, end time.Time
		ids        []int64
		wantQuery  string
	}{
		{
			name:      "all clients",
			start:     time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC),
			end:       time.Date(2024, 3, 7, 23, 59, 0, 0, time.UTC),
			wantQuery: "dateStart=2024-03-01&dateEnd=2024-03-07",
		},
		{
			// 00:30 on 1 March in the agency zone is still 29 February in UTC:
			// the date is the time's own.
			name:      "agency zone dates and some clients",
			start:     time.Date(2024, 3, 1, 0, 30, 0, 0, riyadh),
			end:       time.Date(2024, 3, 7, 0, 30, 0, 0, riyadh),
			ids:       []int64{5001, 5002},
			wantQuery: "dateStart=2024-03-01&dateEnd=2024-03-07&clientsIds=5001,5002",
		},
	}
	want := []ClientSpend{
		{ClientID: 5001, Spent: money.MustParse("12.34")},
		{ClientID: 5002, Spent: money.MustParse("7.5")},
		{ClientID: 5003},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, nil)
			file := serveFile(t, "spend.json")
			hits := f.handle("GET /v1/agencies/1001/clients-spent-reports", func(w http.ResponseWriter, r *http.Request) {
				if r.URL.RawQuery != tt.wantQuery {
					t.Errorf("query = %q, want %q", r.URL.RawQuery, tt.wantQuery)
				}
				file(w, r)
			})
			var got []ClientSpend
			err := f.client().Spend(context.Background(), tt.start, tt.end, tt.ids, nil, func(s ClientSpend) error {
				got = append(got, s)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("spend = %+v, want %+v", got, want)
			}
			if hits.Load() != 1 {
				t.Errorf("requests = %d", hits.Load())
			}
		})
	}
}

// TestSpendStreams proves rows reach the callback while the body is still
// arriving: the server writes the rest only after the callback saw the first.
func TestSpendStreams(t *testing.T) {
	t.Parallel()
	f := newFake(t, nil)
	gotFirst := make(chan struct{})
	f.handle("GET /v1/agencies/1001/clients-spent-reports", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"dateStart":"2024-03-01","clients-spent-reports":[{"id":5001,"spent":"1.50"}`))
		w.(http.Flusher).Flush()
		select {
		case <-gotFirst:
		case <-time.After(5 * time.Second):
			t.Error("the first row did not reach the callback before the body ended")
		}
		_, _ = w.Write([]byte(`,{"id":"5002","spent":2}],"dateEnd":"2024-03-01"}`))
	})
	var got []ClientSpend
	day := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	err := f.client().Spend(context.Background(), day, day, nil, nil, func(s ClientSpend) error {
		if len(got) == 0 {
			close(gotFirst)
		}
		got = append(got, s)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []ClientSpend{{5001, money.MustParse("1.5")}, {5002, money.MustParse("2")}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("spend = %+v, want %+v", got, want)
	}
}

func TestSpendErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		status   int
		body     string
		wantKind providers.Kind
		wantMsg  string
	}{
		{name: "bad dates", status: 400, body: `{"errors":["dateStart should be in the format of YYYY-MM-DD"]}`, wantKind: providers.Permanent, wantMsg: "dateStart should be in the format of YYYY-MM-DD"},
		{name: "invalid client id", status: 400, body: `{"errors":"Invalid client id"}`, wantKind: providers.Permanent, wantMsg: "Invalid client id"},
		{name: "no report", status: 200, body: `{"dateStart":"2024-03-01","dateEnd":"2024-03-01"}`, wantKind: providers.Malformed},
		{name: "spent not a number", status: 200, body: `{"clients-spent-reports":[{"id":5001,"spent":"n/a"}]}`, wantKind: providers.Malformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, nil)
			hits := f.handle("GET /v1/agencies/1001/clients-spent-reports", body(tt.status, tt.body)(t))
			day := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
			err := f.client().Spend(context.Background(), day, day, []int64{5001}, nil, func(ClientSpend) error { return nil })
			pe := asProviderError(t, err)
			if pe.Kind != tt.wantKind || pe.Message != tt.wantMsg || pe.Op != "spend of agency 1001" {
				t.Errorf("error = %+v, want kind %v message %q", pe, tt.wantKind, tt.wantMsg)
			}
			if hits.Load() != 1 {
				t.Errorf("requests = %d, want 1", hits.Load())
			}
		})
	}
}
