package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"syncer/internal/money"
	"syncer/internal/store"
	"syncer/internal/testdb"
)

var moscow = func() *time.Location {
	l, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		panic(err)
	}
	return l
}()

func upsertIn(t *testing.T, db *store.DB, at time.Time, zone *time.Location, days []store.SpendDay) store.SpendResult {
	t.Helper()
	var res store.SpendResult
	err := db.WithTx(context.Background(), func(tx *store.Tx) error {
		var err error
		res, err = tx.UpsertSpend(context.Background(), 1, at, zone, days)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// writeSpendRead writes spend as mgid-spend does: the rows and, in the same
// transaction, the days read (with or without rows), which the zero-filled
// view fills.
func writeSpendRead(tb testing.TB, db *store.DB, at time.Time, rows []store.SpendDay, read []store.SpendFetch) {
	tb.Helper()
	ctx := context.Background()
	err := db.WithTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.UpsertSpend(ctx, 1, at, time.UTC, rows); err != nil {
			return err
		}
		return tx.RecordSpendFetches(ctx, 1, at, read)
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// spendViews renders both spend views, times as offsets from t0, one line a row.
func spendViews(t *testing.T, db *store.DB, t0 time.Time) string {
	t.Helper()
	var out string
	err := db.QueryRow(context.Background(), `
		SELECT (SELECT string_agg(format('daily %s/%s/%s=%s rev=%s tz=%s first+%s upd+%s', agency_id, client_id, spend_date, spent,
		                                 revisions, spend_timezone, first_seen_at - $1, updated_at - $1), E'\n'
		                          ORDER BY agency_id, client_id, spend_date)
		        FROM bi.mgid_client_spend_daily) || E'\n' ||
		       (SELECT string_agg(format('revision %s/%s/%s=%s %s from+%s to+%s', agency_id, client_id, spend_date, spent,
		                                 kind, valid_from - $1, valid_to - $1), E'\n'
		                          ORDER BY agency_id, client_id, spend_date, valid_to)
		        FROM bi.mgid_client_spend_revisions)`, t0).Scan(&out)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Growth while a day is open in the spend zone is intraday; a change after
// the day closed there is a restatement, and only restatements count in
// revisions. The day closes at midnight Moscow time, 21:00 UTC the day
// before the UTC calendar turns, so a UTC clock would get 21:30 wrong.
func TestSpendRevisionsTellIntradayFromRestatement(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	t0 := time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC) // 11:00 in Moscow
	sd := func(d, spent string) store.SpendDay {
		return store.SpendDay{AgencyID: 1, ClientID: 10, Day: day(d), Spent: money.MustParse(spent)}
	}
	steps := []struct {
		at   time.Duration
		days []store.SpendDay
		want store.SpendResult
	}{
		{0, []store.SpendDay{sd("2026-10-31", "20"), sd("2026-11-01", "5")}, store.SpendResult{Inserted: 2}},
		// 21:00 Moscow: today grows (intraday), yesterday is restated.
		{10 * time.Hour, []store.SpendDay{sd("2026-10-31", "21"), sd("2026-11-01", "7")}, store.SpendResult{Revised: 2}},
		// 00:30 Moscow on 2 November (still 1 November in UTC): closed.
		{13*time.Hour + 30*time.Minute, []store.SpendDay{sd("2026-11-01", "8")}, store.SpendResult{Revised: 1}},
	}
	for i, s := range steps {
		if got := upsertIn(t, db, t0.Add(s.at), moscow, s.days); got != s.want {
			t.Fatalf("step %d: %+v, want %+v", i, got, s.want)
		}
	}
	want := strings.Join([]string{
		"daily 1/10/2026-10-31=21.0000 rev=1 tz=Europe/Moscow first+00:00:00 upd+10:00:00",
		"daily 1/10/2026-11-01=8.0000 rev=1 tz=Europe/Moscow first+00:00:00 upd+13:30:00",
		"revision 1/10/2026-10-31=20.0000 restatement from+00:00:00 to+10:00:00",
		"revision 1/10/2026-11-01=5.0000 intraday from+00:00:00 to+10:00:00",
		"revision 1/10/2026-11-01=7.0000 restatement from+10:00:00 to+13:30:00",
	}, "\n")
	if got := spendViews(t, db, t0); got != want {
		t.Errorf("views:\n%s\nwant:\n%s", got, want)
	}

	// The same history in UTC: 21:30 UTC is still 1 November, so the last
	// change is growth, not a restatement.
	utc := testdb.New(t)
	for i, s := range steps {
		if got := upsertIn(t, utc, t0.Add(s.at), time.UTC, s.days); got != s.want {
			t.Fatalf("utc step %d: %+v, want %+v", i, got, s.want)
		}
	}
	want = strings.Join([]string{
		"daily 1/10/2026-10-31=21.0000 rev=1 tz=UTC first+00:00:00 upd+10:00:00",
		"daily 1/10/2026-11-01=8.0000 rev=0 tz=UTC first+00:00:00 upd+13:30:00",
		"revision 1/10/2026-10-31=20.0000 restatement from+00:00:00 to+10:00:00",
		"revision 1/10/2026-11-01=5.0000 intraday from+00:00:00 to+10:00:00",
		"revision 1/10/2026-11-01=7.0000 intraday from+10:00:00 to+13:30:00",
	}, "\n")
	if got := spendViews(t, utc, t0); got != want {
		t.Errorf("views in UTC:\n%s\nwant:\n%s", got, want)
	}

	// The dashboard question reads the partial index, not the table.
	var plan string
	rows, err := db.Query(context.Background(), `EXPLAIN SELECT * FROM bi.mgid_client_spend_revisions
		WHERE kind = 'restatement' AND valid_to >= now() - interval '7 days'`)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	plan = strings.Join(lines, "\n")
	if !strings.Contains(plan, "mgid_client_spend_restatement") {
		// With a handful of rows a seq scan may win; force the choice
		// off and ask again: the index must at least be usable.
		var forced []string
		err := db.WithTx(context.Background(), func(tx *store.Tx) error {
			if _, err := tx.Exec(context.Background(), `SET LOCAL enable_seqscan = off`); err != nil {
				return err
			}
			rows, err := tx.Query(context.Background(), `EXPLAIN SELECT * FROM bi.mgid_client_spend_revisions
				WHERE kind = 'restatement' AND valid_to >= now() - interval '7 days'`)
			if err != nil {
				return err
			}
			forced, err = pgx.CollectRows(rows, pgx.RowTo[string])
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if p := strings.Join(forced, "\n"); !strings.Contains(p, "mgid_client_spend_restatement") {
			t.Errorf("restatements after close do not use the partial index:\n%s", p)
		}
	}
}

// A spend write without a zone is refused before anything is written.
func TestUpsertSpendNeedsZone(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	err := db.WithTx(context.Background(), func(tx *store.Tx) error {
		_, err := tx.UpsertSpend(context.Background(), 1, time.Now(), nil,
			[]store.SpendDay{{AgencyID: 1, ClientID: 1, Day: day("2026-11-01"), Spent: money.MustParse("1")}})
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "time zone") {
		t.Fatalf("err = %v, want a missing time zone", err)
	}
	var n int
	if err := db.QueryRow(context.Background(), `SELECT count(*) FROM syncer.mgid_client_spend_daily`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d rows written, %v", n, err)
	}
}
