package jobs_test

import (
	"context"
	"testing"
	"time"

	"syncer/internal/jobs"
	"syncer/internal/sim"
	"syncer/internal/testdb"
	"syncer/internal/testutil"
)

// Three months of snapshots from the simulator, then retention keeping 20
// days: the two months that ended before the cutoff are dropped, the daily
// rows of every day stay, and the run says how many partitions went.
func TestRetentionDropsOldMonthsOfDetail(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	clk := testutil.NewClock(time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC))
	_, url := startSim(t, sim.Options{Clients: 50, Now: clk.Now}, nil)
	bal := &jobs.MGIDBalances{Agencies: []jobs.MGIDWallets{mgidClient(url)}, DB: db, Now: clk.Now}
	runner := newRunner(db, "a", clk.Now)
	for i := 0; i < 8; i++ { // every 10 days from 10 Jan to 20 Mar
		if res := runner.Execute(context.Background(), bal, jobs.Options{Trigger: jobs.TriggerManual}); res.Status != jobs.StatusSucceeded {
			t.Fatalf("snapshot %d: %+v", i, res)
		}
		clk.Advance(10 * 24 * time.Hour)
	}
	days := testdb.Count(t, db, `SELECT count(*) FROM bi.mgid_client_balance_daily`)
	if days != 8*50 {
		t.Fatalf("%d daily rows before retention, want 400", days)
	}

	// What must survive: the snapshots of periods that ended in March or
	// are still open; a period that ended before 1 March is dropped whole.
	keep := testdb.Count(t, db, `SELECT count(*) FROM bi.mgid_client_balance_history h
		WHERE NOT EXISTS (SELECT 1 FROM syncer.mgid_client_wallet w JOIN syncer.mgid_client c USING (client_key)
		                  WHERE c.client_id = h.client_id AND w.valid_to < '2026-03-01'
		                    AND h.captured_at >= w.valid_from AND h.captured_at < w.valid_to)`)
	if all := testdb.Count(t, db, `SELECT count(*) FROM bi.mgid_client_balance_history`); keep == all || all != 8*50 {
		t.Fatalf("history %d rows, %d to keep: the data does not test retention", all, keep)
	}

	off := &jobs.MGIDRetention{DB: db, Now: clk.Now}
	if res := runner.Execute(context.Background(), off, jobs.Options{Trigger: jobs.TriggerManual}); res.Status != jobs.StatusFailed {
		t.Errorf("retention without SYNCER_RETENTION_DETAIL_DAYS: %+v", res)
	}
	job := &jobs.MGIDRetention{DB: db, DetailDays: 20, Now: clk.Now} // now 30 Mar: cutoff 10 Mar
	res := runner.Execute(context.Background(), job, jobs.Options{Trigger: jobs.TriggerManual})
	if res.Status != jobs.StatusSucceeded || res.Rows != 2 {
		t.Fatalf("retention run: %+v, want 2 partitions dropped", res)
	}
	// Left: March's and the months made ahead of the snapshots (to May).
	if n := testdb.Count(t, db, `SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'syncer.mgid_client_wallet'::regclass AND c.relname <= 'mgid_client_wallet_202603'`); n != 1 {
		t.Errorf("%d wallet partitions up to March left, want March's", n)
	}
	if n := testdb.Count(t, db, `SELECT count(*) FROM bi.mgid_client_balance_daily`); n != days {
		t.Errorf("%d daily rows after retention, want all %d", n, days)
	}
	if n := testdb.Count(t, db, `SELECT count(*) FROM bi.mgid_client_balance_history`); n != keep {
		t.Errorf("history has %d rows after retention, want %d", n, keep)
	}
}
