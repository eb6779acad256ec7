package store_test

import (
	"context"
	"testing"
	"time"

	"syncer/internal/money"
	"syncer/internal/store"
	"syncer/internal/testdb"
)

func day(s string) time.Time {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return d
}

func upsert(t *testing.T, db *store.DB, at time.Time, days []store.SpendDay) store.SpendResult {
	t.Helper()
	var res store.SpendResult
	err := db.WithTx(context.Background(), func(tx *store.Tx) error {
		var err error
		res, err = tx.UpsertSpend(context.Background(), 1, at, time.UTC, days)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestUpsertSpendKeepsRevisions(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	t0 := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	first := []store.SpendDay{
		{AgencyID: 1, ClientID: 10, Day: day("2026-10-30"), Spent: money.MustParse("12.50")},
		{AgencyID: 1, ClientID: 11, Day: day("2026-10-30"), Spent: money.MustParse("0")},
	}
	if res := upsert(t, db, t0, first); res.Inserted != 2 || res.Revised != 0 {
		t.Fatalf("first write: %+v", res)
	}
	// Same values again: nothing is written.
	if res := upsert(t, db, t0.Add(time.Hour), first); res.Written() != 0 {
		t.Fatalf("unchanged re-run wrote %+v", res)
	}
	// A restatement of one day keeps the old value; a client new on a known
	// day is inserted through the upsert path.
	restated := []store.SpendDay{first[0], first[1], {AgencyID: 1, ClientID: 12, Day: day("2026-10-30"), Spent: money.MustParse("1")}}
	restated[0].Spent = money.MustParse("13.75")
	if res := upsert(t, db, t0.Add(2*time.Hour), restated); res.Revised != 1 || res.Inserted != 1 {
		t.Fatalf("restatement: %+v", res)
	}
	var spent money.Amount
	var revisions int
	var firstSeen, updated time.Time
	if err := db.QueryRow(ctx, `SELECT spent, revisions, first_seen_at, updated_at FROM bi.mgid_client_spend_daily
		WHERE client_id = 10`).Scan(&spent, &revisions, &firstSeen, &updated); err != nil {
		t.Fatal(err)
	}
	if spent != money.MustParse("13.75") || revisions != 1 || !firstSeen.Equal(t0) || !updated.Equal(t0.Add(2*time.Hour)) {
		t.Errorf("current row: spent %s revisions %d first %s updated %s", spent, revisions, firstSeen, updated)
	}
	var old money.Amount
	var from, to time.Time
	if err := db.QueryRow(ctx, `SELECT spent, valid_from, valid_to FROM bi.mgid_client_spend_revisions
		WHERE client_id = 10`).Scan(&old, &from, &to); err != nil {
		t.Fatal(err)
	}
	if old != money.MustParse("12.50") || !from.Equal(t0) || !to.Equal(t0.Add(2*time.Hour)) {
		t.Errorf("revision: %s from %s to %s", old, from, to)
	}
}

// Stored days are read back and merged with the new rows in client order:
// new clients before, between and after the stored ones, changed and
// unchanged values, several agencies and days in one call, in any order.
func TestUpsertSpendMergesStoredDays(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	t0 := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	sd := func(agency, client int64, d, spent string) store.SpendDay {
		return store.SpendDay{AgencyID: agency, ClientID: client, Day: day(d), Spent: money.MustParse(spent)}
	}
	stored := []store.SpendDay{
		sd(1, 10, "2026-10-30", "1"), sd(1, 20, "2026-10-30", "2"), sd(1, 30, "2026-10-30", "3"),
		sd(2, 10, "2026-10-30", "4"), sd(1, 10, "2026-10-31", "5"),
	}
	if res := upsert(t, db, t0, stored); res.Inserted != 5 {
		t.Fatalf("first write: %+v", res)
	}
	again := []store.SpendDay{
		sd(1, 40, "2026-10-30", "9"),   // new, after the stored clients
		sd(1, 30, "2026-10-30", "3"),   // unchanged
		sd(2, 10, "2026-10-30", "4"),   // unchanged, other agency
		sd(1, 20, "2026-10-30", "2.5"), // changed
		sd(1, 15, "2026-10-30", "7"),   // new, between
		sd(1, 5, "2026-10-30", "6"),    // new, before
		sd(1, 10, "2026-10-30", "1"),   // unchanged
		sd(1, 10, "2026-10-31", "5.5"), // changed, other day
		sd(1, 10, "2026-11-01", "8"),   // a day never stored
	}
	if res := upsert(t, db, t0.Add(time.Hour), again); res.Inserted != 4 || res.Revised != 2 {
		t.Fatalf("merge: %+v, want 4 inserted, 2 revised", res)
	}
	var got string
	if err := db.QueryRow(context.Background(), `SELECT string_agg(format('%s/%s/%s=%s', agency_id, spend_date, client_id, spent), ' '
		ORDER BY agency_id, spend_date, client_id) FROM syncer.mgid_client_spend_daily`).Scan(&got); err != nil {
		t.Fatal(err)
	}
	want := "1/2026-10-30/5=6.0000 1/2026-10-30/10=1.0000 1/2026-10-30/15=7.0000 1/2026-10-30/20=2.5000 " +
		"1/2026-10-30/30=3.0000 1/2026-10-30/40=9.0000 1/2026-10-31/10=5.5000 1/2026-11-01/10=8.0000 2/2026-10-30/10=4.0000"
	if got != want {
		t.Errorf("stored:\n%s\nwant:\n%s", got, want)
	}
}

type sliceRows struct {
	rows []store.ClientBalance
	i    int
}

func (s *sliceRows) Next() bool               { s.i++; return s.i <= len(s.rows) }
func (s *sliceRows) Row() store.ClientBalance { return s.rows[s.i-1] }
func (s *sliceRows) Err() error               { return nil }

func TestLatestViewShowsEachAgencysNewestSnapshot(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	t1 := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	t2 := t1.Add(15 * time.Minute)
	snap := func(at time.Time, clients ...store.ClientBalance) {
		ensureWalletMonths(t, db, at)
		err := db.WithTx(ctx, func(tx *store.Tx) error {
			if err := tx.InsertAgencyBalance(ctx, store.AgencyBalance{AgencyID: 7, CapturedAt: at, RunID: 1}); err != nil {
				return err
			}
			_, err := tx.CopyClientBalances(ctx, 7, at, &sliceRows{rows: clients})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	snap(t1, store.ClientBalance{ClientID: 1, Email: "a@x", Balance: money.MustParse("1")},
		store.ClientBalance{ClientID: 2, Email: "b@x", Balance: money.MustParse("2")})
	snap(t2, store.ClientBalance{ClientID: 1, Email: "a@x", Balance: money.MustParse("5.5")})

	var n int
	var bal money.Amount
	if err := db.QueryRow(ctx, `SELECT count(*), max(balance) FROM bi.mgid_client_balance_latest`).Scan(&n, &bal); err != nil {
		t.Fatal(err)
	}
	if n != 1 || bal != money.MustParse("5.5") {
		t.Errorf("latest: %d rows, balance %s; want 1 row of 5.5", n, bal)
	}
	if err := db.QueryRow(ctx, `SELECT count(*) FROM bi.mgid_client_balance_history`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("history has %d rows, want 3", n)
	}
}

func TestStartRunClaimsEachTickOnce(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	tick := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	if _, err := db.StartRun(ctx, store.RunStart{Job: "j", Trigger: "schedule", ScheduledFor: &tick, Replica: "a"}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.StartRun(ctx, store.RunStart{Job: "j", Trigger: "schedule", ScheduledFor: &tick, Replica: "b"}); err != store.ErrTickTaken {
		t.Fatalf("second claim of the same tick: %v", err)
	}
	// Manual runs are never deduplicated.
	for i := 0; i < 2; i++ {
		if _, err := db.StartRun(ctx, store.RunStart{Job: "j", Trigger: "manual", Replica: "a"}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestJobLockIsExclusiveAcrossSessions(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	l, ok, err := db.TryLockJob(ctx, "x")
	if err != nil || !ok {
		t.Fatalf("first lock: %v %v", ok, err)
	}
	if _, ok, _ := db.TryLockJob(ctx, "x"); ok {
		t.Fatal("a second session took a held lock")
	}
	l.Release()
	l2, ok, err := db.TryLockJob(ctx, "x")
	if err != nil || !ok {
		t.Fatalf("lock after release: %v %v", ok, err)
	}
	l2.Release()
}
