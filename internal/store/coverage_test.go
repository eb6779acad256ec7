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

// bi.coverage, built day by day in MGID_TIMEZONE (Asia/Tokyo here, so the
// day boundary is not UTC's), with every state; then the gaps merged.
func TestCoverageStatesAndGaps(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testdb.New(t)
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SaveMGIDTimezone(ctx, "Asia/Tokyo"); err != nil {
		t.Fatal(err)
	}
	now := time.Now().Truncate(time.Microsecond)
	lt := now.In(tokyo)
	today := time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, time.UTC)
	d := func(n int) time.Time { return today.AddDate(0, 0, n) } // the date, as dates travel
	closes := func(n int) time.Time {                            // when day n ends in Tokyo
		x := d(n + 1)
		return time.Date(x.Year(), x.Month(), x.Day(), 0, 0, 0, 0, tokyo)
	}
	runID := int64(0)
	fetch := func(agency int64, day time.Time, at time.Time, spent string) {
		t.Helper()
		runID++
		err := db.WithTx(ctx, func(tx *store.Tx) error {
			var rows []store.SpendDay
			if spent != "" {
				rows = []store.SpendDay{{AgencyID: agency, ClientID: 7, Day: day, Spent: money.MustParse(spent)}}
			}
			if _, err := tx.UpsertSpend(ctx, runID, at, tokyo, rows); err != nil {
				return err
			}
			return tx.RecordSpendFetches(ctx, runID, at, []store.SpendFetch{{AgencyID: agency, Day: day}})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// Agency 1.
	fetch(1, d(-5), closes(-5).Add(-2*time.Hour), "10.00")
	fetch(1, d(-5), closes(-5).Add(-time.Hour), "11.00") // changed while open: not a restatement
	fetch(1, d(-5), closes(-5).Add(time.Hour), "11.00")  // read after close: observed
	// d(-4), d(-3): never read.
	fetch(1, d(-2), closes(-2).Add(-time.Hour), "20.00")
	fetch(1, d(-2), closes(-2).Add(time.Hour), "25.00") // changed after close: restated
	fetch(1, d(-1), closes(-1).Add(-time.Hour), "")     // no spend, read only while open
	fetch(1, d(0), now.Add(-time.Minute), "")           // today: open
	// Agency 2 starts yesterday; the day closed exactly when it was read.
	fetch(2, d(-1), closes(-1), "")
	// Balances of agency 1: a snapshot on d(-3) and one today.
	for _, at := range []time.Time{closes(-3).Add(-12 * time.Hour), now.Add(-time.Minute)} {
		if err := db.InsertAgencyBalance(ctx, store.AgencyBalance{AgencyID: 1, CapturedAt: at, RunID: 99,
			Personal: money.MustParse("1"), Bonus: money.MustParse("0"), ClientsBalance: money.MustParse("0")}); err != nil {
			t.Fatal(err)
		}
	}

	got, err := db.Coverage(ctx, d(-30), d(0))
	if err != nil {
		t.Fatal(err)
	}
	at := func(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
	want := []string{
		fmt.Sprintf("mgid-balances 1 %s observed %s", d(-3).Format(time.DateOnly), at(closes(-3).Add(-12*time.Hour))),
		fmt.Sprintf("mgid-balances 1 %s missing -", d(-2).Format(time.DateOnly)),
		fmt.Sprintf("mgid-balances 1 %s missing -", d(-1).Format(time.DateOnly)),
		fmt.Sprintf("mgid-balances 1 %s provisional %s", d(0).Format(time.DateOnly), at(now.Add(-time.Minute))),
		fmt.Sprintf("mgid-spend 1 %s observed %s", d(-5).Format(time.DateOnly), at(closes(-5).Add(time.Hour))),
		fmt.Sprintf("mgid-spend 1 %s missing -", d(-4).Format(time.DateOnly)),
		fmt.Sprintf("mgid-spend 1 %s missing -", d(-3).Format(time.DateOnly)),
		fmt.Sprintf("mgid-spend 1 %s restated %s", d(-2).Format(time.DateOnly), at(closes(-2).Add(time.Hour))),
		fmt.Sprintf("mgid-spend 1 %s provisional %s", d(-1).Format(time.DateOnly), at(closes(-1).Add(-time.Hour))),
		fmt.Sprintf("mgid-spend 1 %s provisional %s", d(0).Format(time.DateOnly), at(now.Add(-time.Minute))),
		fmt.Sprintf("mgid-spend 2 %s observed %s", d(-1).Format(time.DateOnly), at(closes(-1))),
		fmt.Sprintf("mgid-spend 2 %s missing -", d(0).Format(time.DateOnly)),
	}
	var lines []string
	for _, c := range got {
		last := "-"
		if c.LastObservedAt != nil {
			last = at(*c.LastObservedAt)
		}
		lines = append(lines, fmt.Sprintf("%s %d %s %s %s", c.Source, c.AgencyID, c.Day.Format(time.DateOnly), c.State, last))
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("bi.coverage:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}

	windows := func(f store.CoverageFilter) string {
		t.Helper()
		ws, err := db.MissingWindows(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, w := range ws {
			out = append(out, fmt.Sprintf("%s %d %s..%s %d", w.Source, w.AgencyID, w.From.Format(time.DateOnly), w.To.Format(time.DateOnly), w.Days))
		}
		return strings.Join(out, "; ")
	}
	ds := func(n int) string { return d(n).Format(time.DateOnly) }
	for _, c := range []struct {
		name string
		f    store.CoverageFilter
		want string
	}{
		{"all", store.CoverageFilter{},
			fmt.Sprintf("mgid-balances 1 %s..%s 2; mgid-spend 1 %s..%s 2; mgid-spend 2 %s..%s 1", ds(-2), ds(-1), ds(-4), ds(-3), ds(0), ds(0))},
		{"spend only", store.CoverageFilter{Source: store.SourceMGIDSpend},
			fmt.Sprintf("mgid-spend 1 %s..%s 2; mgid-spend 2 %s..%s 1", ds(-4), ds(-3), ds(0), ds(0))},
		{"from cuts a window", store.CoverageFilter{From: d(-3)},
			fmt.Sprintf("mgid-balances 1 %s..%s 2; mgid-spend 1 %s..%s 1; mgid-spend 2 %s..%s 1", ds(-2), ds(-1), ds(-3), ds(-3), ds(0), ds(0))},
		{"to", store.CoverageFilter{To: d(-2)},
			fmt.Sprintf("mgid-balances 1 %s..%s 1; mgid-spend 1 %s..%s 2", ds(-2), ds(-2), ds(-4), ds(-3))},
		{"nothing missing", store.CoverageFilter{From: d(-10), To: d(-5)}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			if g := windows(c.f); g != c.want {
				t.Errorf("missing windows:\n got %s\nwant %s", g, c.want)
			}
		})
	}
	days, err := db.MissingDays(ctx, store.CoverageFilter{Source: store.SourceMGIDSpend})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(days) != fmt.Sprint([]time.Time{d(-4), d(-3), d(0)}) {
		t.Errorf("missing spend days %v, want %s %s %s", days, ds(-4), ds(-3), ds(0))
	}

	if err := db.SaveMGIDTimezone(ctx, "Mars/Olympus_Mons"); err == nil {
		t.Error("an unknown zone was accepted")
	}
}
