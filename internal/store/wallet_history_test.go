package store_test

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"syncer/internal/money"
	"syncer/internal/store"
	"syncer/internal/testdb"
)

// walletLines renders every row of query as one line, values joined by " ",
// NULL as "-".
func walletLines(t *testing.T, db *store.DB, query string, args ...any) string {
	t.Helper()
	rows, err := db.Query(context.Background(), query, args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		parts := make([]string, len(vals))
		for i, v := range vals {
			switch x := v.(type) {
			case nil:
				parts[i] = "-"
			case time.Time:
				parts[i] = x.UTC().Format("01-02T15:04")
			case pgtype.Numeric:
				parts[i] = numericText(t, x)
			default:
				parts[i] = fmt.Sprint(x)
			}
		}
		out = append(out, strings.Join(parts, " "))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(out, "\n")
}

// numericText renders a numeric(18,4) as money does ("120.00", "0.0001").
func numericText(t *testing.T, n pgtype.Numeric) string {
	t.Helper()
	v, err := n.Value()
	if err != nil || v == nil {
		t.Fatalf("numeric %v: %v", n, err)
	}
	r, ok := new(big.Rat).SetString(v.(string))
	if !ok {
		t.Fatalf("numeric %q", v)
	}
	a, err := money.Parse(r.FloatString(4))
	if err != nil {
		t.Fatal(err)
	}
	return a.String()
}

// wallet is a client row of a snapshot; credit "" means MGID did not send it.
func wallet(id int64, email, balance, credit string) store.ClientBalance {
	c := store.ClientBalance{ClientID: id, Email: email, Balance: money.MustParse(balance), Income: money.MustParse("1000")}
	if credit != "" {
		a := money.MustParse(credit)
		c.Credit = &a
	}
	return c
}

// writeSnapshot is what mgid-balances does for one agency.
func writeSnapshot(t *testing.T, db *store.DB, agency int64, at time.Time, clients ...store.ClientBalance) {
	t.Helper()
	ctx := context.Background()
	ensureWalletMonths(t, db, at)
	err := db.WithTx(ctx, func(tx *store.Tx) error {
		if err := tx.InsertAgencyBalance(ctx, store.AgencyBalance{AgencyID: agency, CapturedAt: at, RunID: 1}); err != nil {
			return err
		}
		if _, err := tx.CopyClientBalances(ctx, agency, at, &sliceRows{rows: clients}); err != nil {
			return err
		}
		_, err := tx.CloseBalanceDays(ctx, agency, at)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Four snapshots around midnight in Moscow (UTC+3): 20:00 and 20:45 UTC are
// on 1 March there, 21:15 and 22:00 UTC on 2 March. Client 10 has no credit,
// changes balance twice and email once; 11 misses the second snapshot; 12
// appears in the last; 13 leaves after the second.
func seedWalletHistory(t *testing.T, db *store.DB) (t1, t2, t3, t4 time.Time) {
	t.Helper()
	if err := db.SetSetting(context.Background(), store.SettingMGIDTimezone, "Europe/Moscow"); err != nil {
		t.Fatal(err)
	}
	t1 = time.Date(2026, 3, 1, 20, 0, 0, 0, time.UTC)
	t2, t3, t4 = t1.Add(45*time.Minute), t1.Add(75*time.Minute), t1.Add(2*time.Hour)
	writeSnapshot(t, db, 1, t1, wallet(10, "a@x", "100", ""), wallet(11, "b@x", "10", "5"), wallet(13, "d@x", "1", "0"))
	writeSnapshot(t, db, 1, t2, wallet(10, "a@x", "100", ""), wallet(13, "d@x", "1", "0"))
	writeSnapshot(t, db, 1, t3, wallet(10, "a@x", "80", ""), wallet(11, "b@x", "50", "5"))
	writeSnapshot(t, db, 1, t4, wallet(10, "a2@x", "120", ""), wallet(11, "b@x", "50", "5"), wallet(12, "c@x", "7", "1"))
	return
}

func TestWalletHistoryViews(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	seedWalletHistory(t, db)

	t.Run("history rebuilds every snapshot", func(t *testing.T) {
		got := walletLines(t, db, `SELECT client_id, email, captured_at, balance, credit, income
			FROM bi.mgid_client_balance_history ORDER BY client_id, captured_at`)
		want := strings.Join([]string{
			"10 a@x 03-01T20:00 100.00 - 1000.00",
			"10 a@x 03-01T20:45 100.00 - 1000.00",
			"10 a@x 03-01T21:15 80.00 - 1000.00",
			"10 a2@x 03-01T22:00 120.00 - 1000.00",
			"11 b@x 03-01T20:00 10.00 5.00 1000.00",
			"11 b@x 03-01T21:15 50.00 5.00 1000.00",
			"11 b@x 03-01T22:00 50.00 5.00 1000.00",
			"12 c@x 03-01T22:00 7.00 1.00 1000.00",
			"13 d@x 03-01T20:00 1.00 0.00 1000.00",
			"13 d@x 03-01T20:45 1.00 0.00 1000.00",
		}, "\n")
		if got != want {
			t.Errorf("history:\n%s\nwant:\n%s", got, want)
		}
		// Unchanged snapshots cost no row: 10 closed two periods, 11 and 13
		// one each by leaving; the open periods live in mgid_client.
		if got := walletLines(t, db, `SELECT count(*) FROM syncer.mgid_client_wallet`); got != "4" {
			t.Errorf("%s closed periods, want 4", got)
		}
	})

	t.Run("latest keeps a missing credit NULL", func(t *testing.T) {
		got := walletLines(t, db, `SELECT client_id, email, captured_at, balance, credit
			FROM bi.mgid_client_balance_latest ORDER BY client_id`)
		want := "10 a2@x 03-01T22:00 120.00 -\n11 b@x 03-01T22:00 50.00 5.00\n12 c@x 03-01T22:00 7.00 1.00"
		if got != want {
			t.Errorf("latest:\n%s\nwant:\n%s", got, want)
		}
	})

	t.Run("daily in MGID_TIMEZONE across midnight", func(t *testing.T) {
		// 1 March is closed (rolled up by the 21:15 snapshot); 2 March is open
		// and computed by the view.
		if got := walletLines(t, db, `SELECT DISTINCT day FROM syncer.mgid_client_balance_day`); got != "03-01T00:00" {
			t.Errorf("rolled-up days: %q", got)
		}
		got := walletLines(t, db, `SELECT client_id, to_char(day, 'MM-DD'), opening_balance, closing_balance,
			min_balance, max_balance, snapshots FROM bi.mgid_client_balance_daily ORDER BY day, client_id`)
		want := strings.Join([]string{
			"10 03-01 100.00 100.00 100.00 100.00 2",
			"11 03-01 10.00 10.00 10.00 10.00 1",
			"13 03-01 1.00 1.00 1.00 1.00 2",
			"10 03-02 80.00 120.00 80.00 120.00 2",
			"11 03-02 50.00 50.00 50.00 50.00 2",
			"12 03-02 7.00 7.00 7.00 7.00 1",
		}, "\n")
		if got != want {
			t.Errorf("daily:\n%s\nwant:\n%s", got, want)
		}
		// Once 2 March closes, its stored rows equal what the view computed.
		writeSnapshot(t, db, 1, time.Date(2026, 3, 2, 21, 30, 0, 0, time.UTC), wallet(10, "a2@x", "120", ""))
		stored := walletLines(t, db, `SELECT c.client_id, to_char(d.day, 'MM-DD'), d.opening_balance, d.closing_balance,
			d.min_balance, d.max_balance, d.snapshots FROM syncer.mgid_client_balance_day d JOIN syncer.mgid_client c USING (client_key)
			WHERE d.day = '2026-03-02' ORDER BY c.client_id`)
		if wantDay := strings.Join(strings.Split(want, "\n")[3:], "\n"); stored != wantDay {
			t.Errorf("rolled-up 2 March:\n%s\nwant:\n%s", stored, wantDay)
		}
	})

	t.Run("clients", func(t *testing.T) {
		got := walletLines(t, db, `SELECT client_id, email, first_seen_at, last_seen_at, in_latest_snapshot
			FROM bi.mgid_clients ORDER BY client_id`)
		want := strings.Join([]string{
			"10 a2@x 03-01T20:00 03-02T21:30 true",
			"11 b@x 03-01T20:00 03-01T22:00 false",
			"12 c@x 03-01T22:00 03-01T22:00 false",
			"13 d@x 03-01T20:00 03-01T20:45 false",
		}, "\n")
		if got != want {
			t.Errorf("clients:\n%s\nwant:\n%s", got, want)
		}
	})
}

// goose down of 00007 gives back the per-snapshot table with every row; up
// again turns them into periods that rebuild the same history.
func TestMigration00007MovesHistoryDownAndUp(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	seedWalletHistory(t, db)
	const history = `SELECT agency_id, client_id, email, captured_at, balance, credit, income
		FROM bi.mgid_client_balance_history ORDER BY agency_id, client_id, captured_at`
	before := walletLines(t, db, history)
	daily := `SELECT client_id, day, opening_balance, closing_balance, min_balance, max_balance, snapshots
		FROM bi.mgid_client_balance_daily ORDER BY day, client_id`
	dailyBefore := walletLines(t, db, daily)

	m, err := db.NewMigrations()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	p := m.Provider()
	var prev int64
	for _, s := range p.ListSources() {
		if s.Version < 7 && s.Version > prev {
			prev = s.Version
		}
	}
	if _, err := p.DownTo(ctx, prev); err != nil {
		t.Fatal(err)
	}
	// Down writes the old layout, where a value not sent was 0.
	got := walletLines(t, db, `SELECT agency_id, client_id, email, captured_at, balance, credit, income
		FROM syncer.mgid_client_balance ORDER BY agency_id, client_id, captured_at`)
	if want := strings.ReplaceAll(before, " - ", " 0.00 "); got != want {
		t.Fatalf("old table after down:\n%s\nwant:\n%s", got, want)
	}
	if got := walletLines(t, db, `SELECT count(*) FROM bi.mgid_client_balance_history`); got != "10" {
		t.Errorf("old history view has %s rows", got)
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := walletLines(t, db, history), strings.ReplaceAll(before, " - ", " 0.00 "); got != want {
		t.Errorf("history after up again:\n%s\nwant:\n%s", got, want)
	}
	// Moscow was a setting of the first life; the migration counts days in
	// UTC until a job publishes the zone, so compare the row count only.
	if got := walletLines(t, db, `SELECT count(*) FROM bi.mgid_client_balance_daily`); got == "0" || dailyBefore == "" {
		t.Errorf("daily view empty after up again")
	}
	if got := walletLines(t, db, `SELECT client_id, first_seen_at, last_seen_at, in_latest_snapshot FROM bi.mgid_clients ORDER BY 1`); got !=
		"10 03-01T20:00 03-01T22:00 true\n11 03-01T20:00 03-01T22:00 true\n12 03-01T22:00 03-01T22:00 true\n13 03-01T20:00 03-01T20:45 false" {
		t.Errorf("clients after up again:\n%s", got)
	}
}

func TestWalletViewsAreCommented(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	got := walletLines(t, db, `
		SELECT c.relname || coalesce('.' || a.attname, '')
		FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'bi'
		LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
		WHERE c.relname IN ('mgid_client_balance_history', 'mgid_client_balance_latest',
		                    'mgid_client_balance_daily', 'mgid_clients')
		  AND (col_description(c.oid, a.attnum) IS NULL OR obj_description(c.oid, 'pg_class') IS NULL)`)
	if got != "" {
		t.Errorf("without a comment:\n%s", got)
	}
}

// Retention drops whole months of periods, only those that ended before the
// cutoff, and keeps the daily rows.
func TestDropWalletDetailKeepsDailyRows(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	at := func(month time.Month, day int) time.Time { return time.Date(2026, month, day, 0, 0, 0, 0, time.UTC) }
	snaps := []time.Time{at(1, 10), at(1, 20), at(2, 10), at(2, 20), at(3, 15), at(3, 20)}
	for i, s := range snaps {
		writeSnapshot(t, db, 1, s, wallet(10, "a@x", fmt.Sprint(i+1), "0"))
	}
	partitions := `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'syncer.mgid_client_wallet'::regclass AND c.relname <= 'mgid_client_wallet_202603' ORDER BY 1`
	if got := walletLines(t, db, partitions); got != "mgid_client_wallet_202601\nmgid_client_wallet_202602\nmgid_client_wallet_202603" {
		t.Fatalf("partitions: %s", got)
	}
	drop := func(before time.Time) string {
		var dropped []string
		err := db.WithTx(ctx, func(tx *store.Tx) error {
			var err error
			dropped, err = tx.DropWalletDetail(ctx, before)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(dropped, ",")
	}
	if got := drop(at(2, 15)); got != "mgid_client_wallet_202601" {
		t.Errorf("before 15 Feb dropped %q, want January only", got)
	}
	if got := drop(at(3, 10)); got != "mgid_client_wallet_202602" {
		t.Errorf("before 10 Mar dropped %q, want February", got)
	}
	if got := drop(at(3, 10)); got != "" {
		t.Errorf("a second run dropped %q", got)
	}
	// The period that began on 20 Feb ended in March: its snapshot stays.
	if got := walletLines(t, db, `SELECT captured_at, balance FROM bi.mgid_client_balance_history ORDER BY 1`); got != "02-20T00:00 4.00\n03-15T00:00 5.00\n03-20T00:00 6.00" {
		t.Errorf("history after retention:\n%s", got)
	}
	if got := walletLines(t, db, `SELECT to_char(day, 'MM-DD'), closing_balance, snapshots FROM bi.mgid_client_balance_daily ORDER BY day`); got !=
		"01-10 1.00 1\n01-20 2.00 1\n02-10 3.00 1\n02-20 4.00 1\n03-15 5.00 1\n03-20 6.00 1" {
		t.Errorf("daily after retention:\n%s", got)
	}
}

// A snapshot that lists a client twice is refused, and nothing of it is
// written: the diff would otherwise open two periods for one client.
func TestSnapshotListingAClientTwiceIsRefused(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	at := time.Date(2026, 3, 1, 20, 0, 0, 0, time.UTC)
	writeSnapshot(t, db, 1, at, wallet(10, "a@x", "100", ""), wallet(11, "b@x", "10", "5"))
	ctx := context.Background()
	err := db.WithTx(ctx, func(tx *store.Tx) error {
		if err := tx.InsertAgencyBalance(ctx, store.AgencyBalance{AgencyID: 1, CapturedAt: at.Add(time.Hour), RunID: 1}); err != nil {
			return err
		}
		_, err := tx.CopyClientBalances(ctx, 1, at.Add(time.Hour), &sliceRows{rows: []store.ClientBalance{
			wallet(10, "a@x", "90", ""), wallet(11, "b@x", "10", "5"), wallet(10, "a@x", "80", "")}})
		return err
	})
	if !errors.Is(err, store.ErrClientListedTwice) || !strings.Contains(err.Error(), "client 10") {
		t.Fatalf("err = %v, want client 10 listed twice", err)
	}
	got := walletLines(t, db, `SELECT client_id, captured_at, balance FROM bi.mgid_client_balance_history ORDER BY 1, 2`)
	if want := "10 03-01T20:00 100.00\n11 03-01T20:00 10.00"; got != want {
		t.Errorf("history after the refused snapshot:\n%s\nwant\n%s", got, want)
	}
}

// The diff reads the open periods and writes the changes in one statement;
// a writer that changes a period while that statement waits for its row
// (the job lock should make that impossible) fails the snapshot instead of
// having its period overwritten unrecorded.
func TestSnapshotFailsWhenAnOpenPeriodChangedUnderIt(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	at := time.Date(2026, 3, 1, 20, 0, 0, 0, time.UTC)
	writeSnapshot(t, db, 1, at, wallet(10, "a@x", "100", ""), wallet(11, "b@x", "10", "5"))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The intruder changes client 10's open period and holds its row lock.
	intruder, err := db.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer intruder.Release()
	itx, err := intruder.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = itx.Rollback(context.Background()) }()
	if _, err := itx.Exec(ctx, `UPDATE syncer.mgid_client SET since = since + interval '1 second' WHERE client_id = 10`); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		done <- db.WithTx(ctx, func(tx *store.Tx) error {
			if err := tx.InsertAgencyBalance(ctx, store.AgencyBalance{AgencyID: 1, CapturedAt: at.Add(time.Hour), RunID: 1}); err != nil {
				return err
			}
			_, err := tx.CopyClientBalances(ctx, 1, at.Add(time.Hour), &sliceRows{rows: []store.ClientBalance{
				wallet(10, "a@x", "90", ""), wallet(11, "b@x", "10", "5")}})
			return err
		})
	}()
	// Commit once the snapshot's statement waits for client 10's row.
	for {
		var waiting bool
		if err := db.QueryRow(ctx, `
			SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock')`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("the snapshot finished without waiting for the intruder: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	if err := itx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	err = <-done
	if err == nil || !strings.Contains(err.Error(), "changed by another writer") {
		t.Fatalf("err = %v, want changed by another writer", err)
	}
	got := walletLines(t, db, `SELECT count(*) FROM syncer.mgid_client_wallet`)
	if got != "0" {
		t.Errorf("closed periods after the failed snapshot: %s, want 0", got)
	}
}
