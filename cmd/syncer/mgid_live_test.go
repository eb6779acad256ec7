package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"syncer/internal/money"
	"syncer/internal/providers/mgid"
	"syncer/internal/sim"
	"syncer/internal/store"
	"syncer/internal/testdb"
)

// The confirmation shows MGID's live figures, the ones the journal will
// hold, not the snapshot's (a transfer since the snapshot moved them); if
// they move again while the person reads them, nothing is sent.
func TestMGIDTransferConfirmsLiveFigures(t *testing.T) {
	t.Parallel()
	c := newXferCLI(t)
	c.snapshot()
	snap, err := c.db.LatestAgencyBalance(context.Background(), 1001)
	if err != nil {
		t.Fatal(err)
	}
	if r := c.transfer("", c.first, "100.00", "--yes"); r.code != exitOK {
		t.Fatalf("first transfer: exit %d %s", r.code, r.stderr)
	}
	live := snap.Personal.Sub(money.MustParse("100"))
	r := c.transfer("no\n", c.first+1, "5.00")
	if r.code != exitFailed || !strings.Contains(r.stdout, "live from MGID (") ||
		!strings.Contains(r.stdout, "agency personal account "+live.String()+"\n") {
		t.Fatalf("confirmation does not show the live agency account %s (snapshot %s):\n%s", live, snap.Personal, r.stdout)
	}

	// Someone else moves the client's money while the person reads.
	other := mgid.New(c.url, "agency-x", xferCanary, mgid.WithHTTPClient(&http.Client{Timeout: 10 * time.Second}))
	stdin := readerFunc(func() {
		if _, err := other.Transfer(context.Background(), c.first+2, mgid.Personal, money.MustParse("1.00")); err != nil {
			t.Errorf("side transfer: %v", err)
		}
	})
	before := len(c.journal())
	var out, errb strings.Builder
	code := run(context.Background(), c.transferArgs(c.first+2, "5.00"), env{stdout: &out, stderr: &errb, environ: c.env, stdin: stdin})
	if code != exitFailed || !strings.Contains(errb.String(), "nothing was sent: the balances changed since they were confirmed") {
		t.Errorf("figures moved after confirmation: exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	if n := len(c.journal()); n != before {
		t.Errorf("%d journal rows after a refused send, want %d", n, before)
	}
}

// readerFunc answers "yes" after running f: what happens while a person
// reads the confirmation.
type readerFunc func()

func (f readerFunc) Read(p []byte) (int, error) {
	f()
	return copy(p, "yes\n"), nil
}

// With MGID unreachable, reconcile says how many transfers are still
// unknown (it used to print 0) and exits 1.
func TestMGIDReconcileCountsUnknownWhenMGIDIsDown(t *testing.T) {
	t.Parallel()
	c := newXferCLI(t)
	c.snapshot()
	sent := time.Now().Add(-time.Hour)
	testdb.Exec(t, c.db, `
		INSERT INTO syncer.mgid_transfers (agency_id, client_id, amount, account_type, origin, requested_by, status, created_at, sent_at, error)
		VALUES (1001, $1, 10, 'personal', 'manual', 'alice', 'unknown', $2, $2, 'timeout after sending')`, c.first, sent)
	c.env = append(c.env, "MGID_BASE_URL=http://127.0.0.1:1", "MGID_REQUEST_TIMEOUT=2s")
	r := c.run("", "mgid", "transfers", "reconcile")
	if r.code != exitFailed || !strings.Contains(r.stdout, "0 settled, 1 still unknown.") {
		t.Errorf("reconcile with MGID down: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}

// The daemon reconciles on its own every mgid-balances period, with
// mgid-topup disabled: a transfer whose answer was lost after the daemon
// started is settled without anyone running reconcile.
func TestDaemonReconcilesPeriodically(t *testing.T) {
	t.Parallel()
	c := newXferCLI(t)
	c.snapshot()
	ctx, stop := context.WithCancel(context.Background())
	var stderr strings.Builder
	var mu sync.Mutex
	done := make(chan int, 1)
	daemonEnv := append(append([]string(nil), c.env...), "SYNCER_HTTP_ADDR=127.0.0.1:0", "JOB_MGID_SPEND_ENABLED=false",
		"JOB_MGID_BALANCES_SCHEDULE=@every 2s", "SYNCER_LOG_LEVEL=info")
	go func() {
		done <- run(ctx, []string{"run"}, env{stdout: io.Discard, stderr: lockedWriter{&mu, &stderr}, environ: daemonEnv, stdin: strings.NewReader("")})
	}()
	defer func() {
		stop()
		<-done
	}()
	waitFor(t, 60*time.Second, "the daemon", func() bool {
		select {
		case code := <-done:
			done <- code // for the deferred stop
			mu.Lock()
			defer mu.Unlock()
			t.Fatalf("syncer run exited %d:\n%s", code, stderr.String())
		default:
		}
		mu.Lock()
		defer mu.Unlock()
		return strings.Contains(stderr.String(), "syncer running")
	})
	c.sim.SetFaults(sim.Faults{TransferFault: sim.TransferApplyThenDrop})
	if r := c.transfer("", c.first, "20.00", "--yes"); r.code != exitFailed {
		t.Fatalf("lost answer: exit %d %s", r.code, r.stderr)
	}
	c.sim.SetFaults(sim.Faults{})
	if rows := c.journal(); len(rows) != 1 || rows[0].Status != store.TransferUnknown {
		t.Fatalf("journal after the lost answer: %+v", rows)
	}
	waitFor(t, 20*time.Second, "the daemon's reconcile", func() bool {
		rows := c.journal()
		return len(rows) == 1 && rows[0].Status == store.TransferSucceeded
	})
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
