package transfer_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"syncer/internal/sim"
	"syncer/internal/store"
	"syncer/internal/testdb"
	"syncer/internal/transfer"
)

// On a Postgres with no standby, a guarded transfer waits its timeout, is
// not sent, is settled not_applied with the reason, and fails as a database
// error (class database in a run) that says how many standbys were seen.
// The guard off, the same transfer is sent: the wait is the only difference.
func TestReplicaGuardWithoutStandbyDoesNotSend(t *testing.T) {
	t.Parallel()
	e := newXferEnv(t, sim.Options{Clients: 20})
	ctx := context.Background()
	if n := testdb.Count(t, e.DB, `SELECT count(*) FROM pg_stat_replication`); n != 0 {
		t.Fatalf("the test server streams to %d standbys; this test needs one that streams to none", n)
	}
	l := e.Lock()
	defer l.Release()
	s := e.Sender(e.Client)
	s.Replicas = transfer.ReplicaGuard{Min: 1, Timeout: 300 * time.Millisecond}
	start := time.Now()
	tr, err := s.Send(ctx, manual(e.First, "25.00"))
	took := time.Since(start)
	if !errors.Is(err, transfer.ErrNotReplicated) || !store.IsDatabaseError(err) {
		t.Fatalf("send: %v; want ErrNotReplicated as a database error", err)
	}
	if took < 300*time.Millisecond || took > 5*time.Second {
		t.Errorf("the guard gave up after %s, want its 300ms timeout", took)
	}
	if got := e.Sim.TransferRequests(); got != 0 {
		t.Fatalf("%d transfer requests reached MGID, want 0", got)
	}
	row := e.Row(tr.ID)
	if row.Status != store.TransferNotApplied || !strings.HasPrefix(row.Error, store.NotReplicatedError+": 0 of 1 standbys") ||
		!strings.Contains(row.Error, "(0 streaming)") || row.SettledAt == nil {
		t.Errorf("journal row: %s %q settled %v", row.Status, row.Error, row.SettledAt)
	}
	if !strings.Contains(e.Logs.String(), "level=ERROR") || !strings.Contains(e.Logs.String(), "too few standbys hold its journal row") {
		t.Errorf("no ERROR log line for the held-back transfer:\n%s", e.Logs.String())
	}
	// A cancelled wait is a cancellation, not the database's fault, and sends nothing either.
	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	s.Replicas.Timeout = 10 * time.Second
	tr, err = s.Send(cctx, manual(e.First, "25.00"))
	if err == nil || errors.Is(err, transfer.ErrNotReplicated) || e.Sim.TransferRequests() != 0 {
		t.Errorf("send with its context ending first: %v, %d requests", err, e.Sim.TransferRequests())
	}
	if tr.ID != 0 && e.Row(tr.ID).Status != store.TransferNotApplied {
		t.Errorf("cancelled while waiting: row %+v", e.Row(tr.ID))
	}

	s.Replicas = transfer.ReplicaGuard{}
	if tr, err := s.Send(ctx, manual(e.First, "25.00")); err != nil || tr.Status != store.TransferSucceeded || e.Sim.TransferRequests() != 1 {
		t.Errorf("unguarded send: %v %s, %d requests", err, tr.Status, e.Sim.TransferRequests())
	}
	e.NoSecrets()
}
