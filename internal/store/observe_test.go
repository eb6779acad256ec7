package store_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"syncer/internal/money"
	"syncer/internal/store"
	"syncer/internal/testdb"
)

// LatestRuns answers what a plain DISTINCT ON over the runs answers (by
// index probes instead of a scan), and LastFinishedRuns skips a run still going.
func TestLatestRuns(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	start := func(job string) int64 {
		id, err := db.StartRun(ctx, store.RunStart{Job: job, Trigger: "manual", Replica: "t"})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	finish := func(id int64, status, class string) {
		if err := db.FinishRun(ctx, id, store.RunFinish{Status: status, ErrorClass: class, ErrorMessage: class}); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := db.LatestRuns(ctx); err != nil || len(got) != 0 {
		t.Fatalf("LatestRuns of no runs = %v, %v", got, err)
	}
	a1 := start("a")
	finish(a1, "failed", "timeout")
	a2 := start("a")
	finish(a2, "succeeded", "")
	a3 := start("a") // still running
	b1 := start("b")
	finish(b1, "failed", "auth")
	c1 := start("c") // never finished
	// Same start time: the higher id is the later run.
	if _, err := db.Exec(ctx, `UPDATE syncer.runs SET started_at = (SELECT started_at FROM syncer.runs WHERE id = $1) WHERE id = $2`, a2, a3); err != nil {
		t.Fatal(err)
	}

	want := map[string]store.LastRun{}
	rows, err := db.Query(ctx, `
		SELECT DISTINCT ON (job) job, id, trigger, status, started_at, finished_at, rows_written,
		       coalesce(error_class, ''), coalesce(error_message, '')
		FROM syncer.runs ORDER BY job, started_at DESC, id DESC`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var job string
		var r store.LastRun
		if err := rows.Scan(&job, &r.ID, &r.Trigger, &r.Status, &r.StartedAt, &r.FinishedAt, &r.Rows, &r.ErrorClass, &r.Error); err != nil {
			t.Fatal(err)
		}
		want[job] = r
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	got, err := db.LatestRuns(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("LatestRuns  = %+v\nDISTINCT ON = %+v", got, want)
	}
	if got["a"].ID != a3 || got["c"].ID != c1 {
		t.Errorf("latest of a = %d, of c = %d; want %d and %d", got["a"].ID, got["c"].ID, a3, c1)
	}
	fin, err := db.LastFinishedRuns(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(fin) != 2 || fin["a"].ID != a2 || fin["a"].Status != "succeeded" || fin["b"].ErrorClass != "auth" {
		t.Errorf("LastFinishedRuns = %+v; want a: run %d succeeded, b: failed auth, no c", fin, a2)
	}
}

func TestObserveReads(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	v, err := db.SchemaVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want, err := store.BinaryMigrationVersion()
	if err != nil || v != want || want < 6 {
		t.Fatalf("SchemaVersion = %d, BinaryMigrationVersion = %d, %v; want equal, at least 6", v, want, err)
	}

	at := time.Now().Add(-time.Hour)
	for i, status := range []store.TransferStatus{store.TransferUnknown, store.TransferInFlight, store.TransferUnknown, store.TransferSucceeded} {
		id, err := db.InsertTransfer(ctx, store.Transfer{AgencyID: 1001, ClientID: int64(5001 + i),
			Amount: money.MustParse("10"), AccountType: "personal", Origin: store.OriginManual, RequestedBy: "t",
			Status: store.TransferInFlight, CreatedAt: at.Add(time.Duration(i) * time.Minute), SentAt: &at})
		if err != nil {
			t.Fatal(err)
		}
		if status != store.TransferInFlight {
			if err := db.SettleTransfer(ctx, id, store.TransferOutcome{Status: status, Error: "cut", At: at}); err != nil {
				t.Fatal(err)
			}
		}
	}
	open, err := db.OpenTransferCounts(ctx)
	if err != nil || open[string(store.TransferUnknown)] != 2 || open[string(store.TransferInFlight)] != 1 || len(open) != 2 {
		t.Errorf("OpenTransferCounts = %v, %v; want unknown 2, in_flight 1", open, err)
	}
	unknown, err := db.UnknownTransfers(ctx, 10)
	if err != nil || len(unknown) != 2 || unknown[0].ClientID != 5001 || unknown[1].ClientID != 5003 {
		t.Errorf("UnknownTransfers = %+v, %v; want clients 5001 then 5003", unknown, err)
	}
	if unknown, _ := db.UnknownTransfers(ctx, 1); len(unknown) != 1 {
		t.Errorf("UnknownTransfers(limit 1) returned %d", len(unknown))
	}
}
