package transfer_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"syncer/internal/money"
	"syncer/internal/providers"
	"syncer/internal/providers/mgid"
	"syncer/internal/sim"
	"syncer/internal/store"
	"syncer/internal/testdb"
	"syncer/internal/transfer"
)

// BenchmarkTransferReplicaGuard is one journaled transfer (in_flight row
// committed, the POST to the simulator, the outcome recorded) on a primary
// with one streaming standby, without the guard and with
// SYNCER_TRANSFER_MIN_REPLICAS=1, side by side in one run:
//
//	go test -run '^$' -bench TransferReplicaGuard -benchtime 200x ./internal/transfer/
func BenchmarkTransferReplicaGuard(b *testing.B) {
	p := testdb.NewPair(b)
	db := testdb.Open(b, p.Primary.URL(testdb.PGDatabase))
	s := sim.New(sim.Options{Clients: 10})
	srv := httptest.NewServer(s)
	b.Cleanup(func() { s.Close(); srv.Close() })
	client := mgid.New(srv.URL, sim.DemoLogin, sim.DemoPassword, mgid.WithHTTPClient(&http.Client{Timeout: 10 * time.Second}),
		mgid.WithRetry(providers.Retry{Attempts: 1}))
	first, _, _ := s.ClientRange(sim.DemoAgencyID)
	ctx := context.Background()
	lock, ok, err := db.TryLockTransfers(ctx, sim.DemoAgencyID)
	if err != nil || !ok {
		b.Fatalf("transfer lock: %v %v", ok, err)
	}
	defer lock.Release()
	before := store.TransferBefore{Source: store.BeforeFromSnapshot, At: time.Now()}
	for _, bc := range []struct {
		name string
		min  int
	}{{"min_replicas=0", 0}, {"min_replicas=1", 1}} {
		b.Run(bc.name, func(b *testing.B) {
			sender := &transfer.Sender{DB: db, MGID: client, AgencyID: sim.DemoAgencyID,
				Replicas: transfer.ReplicaGuard{Min: bc.min, Timeout: 10 * time.Second}}
			for b.Loop() {
				t, err := sender.Execute(ctx, transfer.Request{ClientID: first, Amount: money.MustParse("0.01"),
					Account: mgid.Personal, Origin: store.OriginManual, RequestedBy: "bench"}, before)
				if err != nil || t.Status != store.TransferSucceeded {
					b.Fatalf("transfer: %s %v", t.Status, err)
				}
			}
		})
	}
}
