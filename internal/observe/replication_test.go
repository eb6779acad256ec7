package observe_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"syncer/internal/money"
	"syncer/internal/observe"
	"syncer/internal/store"
	"syncer/internal/testdb"
)

// A transfer the replica guard held back is on the status page (a problem
// while it is the newest, a warning once a later one went through) and in
// the metrics, read from the journal.
func TestReplicaGuardRefusalsShow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testdb.New(t)
	journal := func(client int64, at time.Time, o store.TransferOutcome) {
		t.Helper()
		id, err := db.InsertTransfer(ctx, store.Transfer{AgencyID: 1001, ClientID: client, Amount: money.MustParse("10.00"),
			AccountType: "personal", Origin: store.OriginTopUp, RequestedBy: "mgid-topup", Status: store.TransferInFlight,
			CreatedAt: at, SentAt: &at})
		if err != nil {
			t.Fatal(err)
		}
		o.At = at
		if err := db.SettleTransfer(ctx, id, o); err != nil {
			t.Fatal(err)
		}
	}
	refused := store.TransferOutcome{Status: store.TransferNotApplied, Error: store.NotReplicatedError + ": 0 of 1 standbys had flushed WAL 0/3000148 after 10s (0 streaming)"}
	sent := store.TransferOutcome{Status: store.TransferSucceeded}
	unreachable := store.TransferOutcome{Status: store.TransferNotApplied, Error: "not sent: dial tcp: connection refused"}
	now := time.Now()
	journal(5001, now.Add(-3*time.Hour), sent)
	journal(5002, now.Add(-2*time.Hour), unreachable) // another reason: not the guard's
	journal(5003, now.Add(-time.Hour), refused)

	page := &observe.Page{Store: db, Replication: db}
	reg := prometheus.NewRegistry()
	reg.MustRegister(&observe.ReplicaGuardCollector{Store: db})
	check := func(wantProblem, wantWarning bool, wantTotal, wantFailing float64) {
		t.Helper()
		rec := httptest.NewRecorder()
		page.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		html := rec.Body.String()
		problem := strings.Contains(html, "MGID transfers are held back")
		warning := strings.Contains(html, "not sent because too few standbys confirmed")
		if problem != wantProblem || (warning && !problem) != wantWarning {
			t.Errorf("page: problem %v warning %v, want %v %v", problem, warning, wantProblem, wantWarning)
		}
		if got := gathered(t, reg, "syncer_transfers_not_replicated_total"); got != wantTotal {
			t.Errorf("syncer_transfers_not_replicated_total = %v, want %v", got, wantTotal)
		}
		if got := gathered(t, reg, "syncer_transfer_replica_guard_failing"); got != wantFailing {
			t.Errorf("syncer_transfer_replica_guard_failing = %v, want %v", got, wantFailing)
		}
	}
	check(true, false, 1, 1)
	journal(5004, now.Add(-time.Minute), sent) // replication is back
	check(false, true, 1, 0)
}

// gathered is the value of the one series of family name in reg; -1 if absent.
func gathered(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() == name && len(f.GetMetric()) == 1 {
			m := f.GetMetric()[0]
			if m.Counter != nil {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return -1
}
