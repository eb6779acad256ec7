package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"syncer/internal/money"
	"syncer/internal/store"
	"syncer/internal/testdb"
)

// The periods view lists each stored state once, and expanding it over the
// agency's snapshots gives exactly the history view: the two answer the
// same questions, one per change and one per snapshot.
func TestWalletPeriodsAreTheHistoryUnexpanded(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	seedWalletHistory(t, db)
	got := walletLines(t, db, `SELECT client_id, valid_from, CASE WHEN valid_to = 'infinity' THEN 'open' ELSE to_char(valid_to AT TIME ZONE 'UTC', 'MM-DD"T"HH24:MI') END,
		balance, credit FROM bi.mgid_client_wallet_periods ORDER BY client_id, valid_from`)
	want := strings.Join([]string{
		"10 03-01T20:00 03-01T21:15 100.00 -",
		"10 03-01T21:15 03-01T22:00 80.00 -",
		"10 03-01T22:00 open 120.00 -",
		"11 03-01T20:00 03-01T20:45 10.00 5.00",
		"11 03-01T21:15 open 50.00 5.00",
		"12 03-01T22:00 open 7.00 1.00",
		"13 03-01T20:00 03-01T21:15 1.00 0.00",
	}, "\n")
	if got != want {
		t.Errorf("periods:\n%s\nwant:\n%s", got, want)
	}
	// Balance went below 50 at some point: the periods answer it directly.
	if got := walletLines(t, db, `SELECT DISTINCT client_id FROM bi.mgid_client_wallet_periods
		WHERE balance < 50 AND valid_to > $1 ORDER BY 1`, time.Date(2026, 3, 1, 21, 0, 0, 0, time.UTC)); got != "12\n13" {
		t.Errorf("clients below 50 after 21:00 = %q", got)
	}
	var diff int
	if err := db.QueryRow(context.Background(), `
		WITH expanded AS (
		    SELECT p.agency_id, p.client_id, s.captured_at, p.balance, p.credit, p.income
		    FROM bi.mgid_client_wallet_periods p
		    JOIN bi.mgid_agency_balance_history s ON s.agency_id = p.agency_id
		     AND s.captured_at >= p.valid_from AND s.captured_at < p.valid_to),
		hist AS (SELECT agency_id, client_id, captured_at, balance, credit, income FROM bi.mgid_client_balance_history)
		SELECT (SELECT count(*) FROM (SELECT * FROM expanded EXCEPT ALL SELECT * FROM hist) a)
		     + (SELECT count(*) FROM (SELECT * FROM hist EXCEPT ALL SELECT * FROM expanded) b)`).Scan(&diff); err != nil {
		t.Fatal(err)
	}
	if diff != 0 {
		t.Errorf("periods expanded over the snapshots differ from the history in %d rows", diff)
	}
}

// bi.mgid_client_daily is the full join of the daily balance and daily
// spend views on (agency, client, day), and a filter on day gives the same
// rows as filtering both of them.
func TestClientDailyIsBalanceNextToSpend(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	seedWalletHistory(t, db)
	moscow, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		t.Fatal(err)
	}
	upsertIn(t, db, time.Date(2026, 3, 3, 12, 0, 0, 0, time.UTC), moscow, []store.SpendDay{
		{AgencyID: 1, ClientID: 10, Day: day("2026-03-01"), Spent: money.MustParse("12.5")},
		{AgencyID: 1, ClientID: 10, Day: day("2026-03-02"), Spent: money.MustParse("3")},
		{AgencyID: 1, ClientID: 99, Day: day("2026-03-02"), Spent: money.MustParse("7")},
		{AgencyID: 1, ClientID: 11, Day: day("2026-02-27"), Spent: money.MustParse("1")},
	})
	got := walletLines(t, db, `SELECT client_id, day::text, opening_balance, closing_balance, snapshots, spent
		FROM bi.mgid_client_daily ORDER BY client_id, day`)
	want := strings.Join([]string{
		"10 2026-03-01 100.00 100.00 2 12.50",
		"10 2026-03-02 80.00 120.00 2 3.00",
		"11 2026-02-27 - - - 1.00",
		"11 2026-03-01 10.00 10.00 1 -",
		"11 2026-03-02 50.00 50.00 2 -",
		"12 2026-03-02 7.00 7.00 1 -",
		"13 2026-03-01 1.00 1.00 2 -",
		"99 2026-03-02 - - - 7.00",
	}, "\n")
	if got != want {
		t.Errorf("bi.mgid_client_daily:\n%s\nwant:\n%s", got, want)
	}
	oracle := walletLines(t, db, `
		SELECT coalesce(b.client_id, s.client_id), coalesce(b.day, s.spend_date)::text, b.closing_balance, s.spent
		FROM (SELECT * FROM bi.mgid_client_balance_daily WHERE day >= '2026-03-02') b
		FULL JOIN (SELECT * FROM bi.mgid_client_spend_daily WHERE spend_date >= '2026-03-02') s
		  ON s.agency_id = b.agency_id AND s.client_id = b.client_id AND s.spend_date = b.day
		ORDER BY 1, 2`)
	if got := walletLines(t, db, `SELECT client_id, day::text, closing_balance, spent FROM bi.mgid_client_daily
		WHERE day >= '2026-03-02' ORDER BY 1, 2`); got != oracle {
		t.Errorf("filtered on day:\n%s\nthe two views joined:\n%s", got, oracle)
	}
}

// bi.mgid_client_spend_daily_filled has a row for every client of the
// agency on every day whose spend was read: the stored spend, or 0 where the
// report did not list the client, also on a day read with no rows at all.
// A client only a spend report named (no wallet snapshot lists it) is there
// too, once, and stays once after a snapshot lists it. Filters give the
// rows of the whole view that match.
func TestSpendFilledIsEveryClientOnEveryDayRead(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	_, _, _, t4 := seedWalletHistory(t, db) // clients 10-13 of agency 1
	spend := func(at time.Time, days []string, rows ...store.SpendDay) {
		t.Helper()
		var read []store.SpendFetch
		for _, d := range days {
			read = append(read, store.SpendFetch{AgencyID: 1, Day: day(d)})
		}
		writeSpendRead(t, db, at, rows, read)
	}
	sd := func(client int64, d, spent string) store.SpendDay {
		return store.SpendDay{AgencyID: 1, ClientID: client, Day: day(d), Spent: money.MustParse(spent)}
	}
	spend(t4, []string{"2026-03-01", "2026-03-02"}, sd(10, "2026-03-01", "12.5"), sd(99, "2026-03-01", "7"))
	// Another agency's days and clients stay out of agency 1's rows.
	spend(t4, []string{"2026-03-01"}, store.SpendDay{AgencyID: 2, ClientID: 10, Day: day("2026-03-01"), Spent: money.MustParse("1")})
	all := `SELECT client_id, spend_date::text, spent, reported FROM bi.mgid_client_spend_daily_filled WHERE agency_id = 1 ORDER BY 2, 1`
	want := strings.Join([]string{
		"10 2026-03-01 12.50 true",
		"11 2026-03-01 0.00 false",
		"12 2026-03-01 0.00 false",
		"13 2026-03-01 0.00 false",
		"99 2026-03-01 7.00 true",
		"10 2026-03-02 0.00 false",
		"11 2026-03-02 0.00 false",
		"12 2026-03-02 0.00 false",
		"13 2026-03-02 0.00 false",
		"99 2026-03-02 0.00 false",
	}, "\n")
	if got := walletLines(t, db, all); got != want {
		t.Errorf("filled:\n%s\nwant:\n%s", got, want)
	}
	for _, f := range []string{"client_id = 99", "client_id = 11 AND spend_date = '2026-03-02'", "spend_date > '2026-03-01'"} {
		got := walletLines(t, db, `SELECT client_id, spend_date::text, spent, reported FROM bi.mgid_client_spend_daily_filled
			WHERE agency_id = 1 AND `+f+` ORDER BY 2, 1`)
		oracle := walletLines(t, db, `SELECT * FROM (`+all+`) a WHERE `+f+` ORDER BY 2, 1`)
		if got != oracle || got == "" {
			t.Errorf("filtered on %s:\n%s\nthe whole view filtered:\n%s", f, got, oracle)
		}
	}
	// Client 99 joins the wallet snapshots: still one row a day.
	writeSnapshot(t, db, 1, t4.Add(time.Hour), wallet(10, "a2@x", "120", ""), wallet(99, "z@x", "1", ""))
	if got := walletLines(t, db, `SELECT client_id, count(*), sum(spent) FROM bi.mgid_client_spend_daily_filled
		WHERE agency_id = 1 GROUP BY 1 ORDER BY 1`); got != "10 2 12.50\n11 2 0.00\n12 2 0.00\n13 2 0.00\n99 2 7.00" {
		t.Errorf("after client 99 was listed: %q", got)
	}
}

// The per-agency day totals follow every spend write: new days, intraday
// growth and restatements, and the monthly view sums them.
func TestAgencySpendTotalsFollowEveryWrite(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	sd := func(client int64, d, spent string) store.SpendDay {
		return store.SpendDay{AgencyID: 7, ClientID: client, Day: day(d), Spent: money.MustParse(spent)}
	}
	check := func(step, want string) {
		t.Helper()
		got := walletLines(t, db, `SELECT 'd', spend_date::text, spent, clients FROM bi.mgid_agency_spend_daily
			UNION ALL SELECT 'm', month::text, spent, days FROM bi.mgid_agency_spend_monthly ORDER BY 1, 2`)
		if got != want {
			t.Errorf("after %s:\n%s\nwant:\n%s", step, got, want)
		}
		oracle := walletLines(t, db, `SELECT spend_date::text, sum(spent), count(*) FROM bi.mgid_client_spend_daily
			WHERE agency_id = 7 GROUP BY 1 ORDER BY 1`)
		if got := walletLines(t, db, `SELECT spend_date::text, spent, clients FROM bi.mgid_agency_spend_daily ORDER BY 1`); got != oracle {
			t.Errorf("after %s: totals\n%s\nsum of the client rows\n%s", step, got, oracle)
		}
	}
	t0 := time.Date(2026, 3, 31, 12, 0, 0, 0, time.UTC)
	upsertIn(t, db, t0, time.UTC, []store.SpendDay{sd(1, "2026-03-30", "10"), sd(2, "2026-03-30", "5.5"), sd(1, "2026-03-31", "1")})
	check("new days", strings.Join([]string{
		"d 2026-03-30 15.50 2", "d 2026-03-31 1.00 1", "m 2026-03-01 16.50 2"}, "\n"))
	upsertIn(t, db, t0.Add(3*time.Hour), time.UTC, []store.SpendDay{sd(1, "2026-03-30", "12"), sd(1, "2026-03-31", "4"), sd(2, "2026-03-31", "2")})
	check("a restatement and intraday growth", strings.Join([]string{
		"d 2026-03-30 17.50 2", "d 2026-03-31 6.00 2", "m 2026-03-01 23.50 2"}, "\n"))
	upsertIn(t, db, t0.Add(24*time.Hour), time.UTC, []store.SpendDay{sd(1, "2026-04-01", "0.0001")})
	check("a new month", strings.Join([]string{
		"d 2026-03-30 17.50 2", "d 2026-03-31 6.00 2", "d 2026-04-01 0.0001 1", "m 2026-03-01 23.50 2", "m 2026-04-01 0.0001 1"}, "\n"))
}

// With the server's defaults (JIT on above jit_above_cost), no bi view read
// whole on a small database is planned expensive enough to be compiled:
// bi.coverage was (2.5 M on an empty database; 379 ms compiling on the demo's).
func TestNoBIViewIsJITCompiledOnASmallDatabase(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	seedWalletHistory(t, db)
	ctx := context.Background()
	var limit float64
	if err := db.QueryRow(ctx, `SELECT current_setting('jit_above_cost')::float8`).Scan(&limit); err != nil {
		t.Fatal(err)
	}
	for _, v := range biViews(t, db) {
		var plan []map[string]any
		if err := db.QueryRow(ctx, `EXPLAIN (FORMAT JSON) SELECT * FROM bi.`+v).Scan(&plan); err != nil {
			t.Fatal(err)
		}
		cost := plan[0]["Plan"].(map[string]any)["Total Cost"].(float64)
		if cost >= limit {
			t.Errorf("bi.%s: planned cost %.0f, at or over jit_above_cost %.0f: JIT would compile it", v, cost, limit)
		}
	}
}

// The open days of bi.mgid_client_balance_daily (00022: plain SQL, so a
// client filter reaches the client) give exactly what the rollup function
// syncer.mgid_balance_day_rows computes for them, for every client and for
// one client; also for an agency without a rollup row (all its days open).
func TestDailyOpenDayMatchesTheRollupFunction(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	t1, _, _, _ := seedWalletHistory(t, db)
	// Agency 2: three snapshots over three days written without the
	// day-closing call, so it has no rollup row and all its days are open.
	for i, at := range []time.Time{t1.Add(24 * time.Hour), t1.Add(25 * time.Hour), t1.Add(50 * time.Hour)} {
		clients := []store.ClientBalance{wallet(20, "e@x", fmt.Sprint(5-i), "1"), wallet(21, "f@x", "6", "")}
		if i == 1 {
			clients = clients[:1]
		}
		err := db.WithTx(context.Background(), func(tx *store.Tx) error {
			if err := tx.InsertAgencyBalance(context.Background(), store.AgencyBalance{AgencyID: 2, CapturedAt: at, RunID: 1}); err != nil {
				return err
			}
			_, err := tx.CopyClientBalances(context.Background(), 2, at, &sliceRows{rows: clients})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	const oracle = `
		SELECT c.agency_id, c.client_id, r.day::text, r.opening_balance, r.closing_balance, r.min_balance, r.max_balance, r.snapshots
		FROM (SELECT DISTINCT a.agency_id, (a.captured_at AT TIME ZONE syncer.mgid_timezone())::date AS day
		      FROM syncer.mgid_agency_balance a LEFT JOIN syncer.mgid_balance_rollup u USING (agency_id)
		      WHERE a.captured_at >= coalesce(u.through_at, '-infinity')) o
		CROSS JOIN LATERAL syncer.mgid_balance_day_rows(o.agency_id, o.day, syncer.mgid_timezone()) r
		JOIN syncer.mgid_client c ON c.client_key = r.client_key
		WHERE true %s ORDER BY 1, 2, 3`
	const view = `
		SELECT v.agency_id, v.client_id, v.day::text, v.opening_balance, v.closing_balance, v.min_balance, v.max_balance, v.snapshots
		FROM bi.mgid_client_balance_daily v
		WHERE NOT EXISTS (SELECT 1 FROM syncer.mgid_client_balance_day d JOIN syncer.mgid_client k USING (client_key)
		                  WHERE k.agency_id = v.agency_id AND k.client_id = v.client_id AND d.day = v.day) %s
		ORDER BY 1, 2, 3`
	for _, tc := range []struct{ name, filter string }{
		{"every client", ""},
		{"one client", "AND client_id = 10"},
		{"a client of the agency without a rollup row", "AND client_id = 20"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := walletLines(t, db, fmt.Sprintf(oracle, strings.Replace(tc.filter, "client_id", "c.client_id", 1)))
			got := walletLines(t, db, fmt.Sprintf(view, strings.Replace(tc.filter, "client_id", "v.client_id", 1)))
			if want == "" {
				t.Fatal("no open-day rows to compare")
			}
			if got != want {
				t.Errorf("open days in the view:\n%s\nthe rollup function:\n%s", got, want)
			}
		})
	}
}
