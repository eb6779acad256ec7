package store_test

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"syncer/internal/money"
	"syncer/internal/store"
	"syncer/internal/testdb"
)

// columns lists a relation's columns and their types, in order.
func columns(t *testing.T, db *store.DB, rel string) string {
	t.Helper()
	return viewLines(t, db, `
		SELECT attname || ':' || format_type(atttypid, atttypmod) FROM pg_attribute
		WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped ORDER BY attnum`, rel)
}

// goose down of 00008 gives back the views and the revision counts as they
// were; up again gives back the same rows as before, comments included.
func TestMigration00008DownAndUp(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	t0 := time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)
	sd := func(spent string) []store.SpendDay {
		return []store.SpendDay{{AgencyID: 1, ClientID: 10, Day: day("2026-11-01"), Spent: money.MustParse(spent)}}
	}
	upsertIn(t, db, t0, time.UTC, sd("5"))
	upsertIn(t, db, t0.Add(2*time.Hour), time.UTC, sd("7"))  // intraday
	upsertIn(t, db, t0.Add(17*time.Hour), time.UTC, sd("8")) // 01:00 the next day: restatement
	ids := trackAs(t, db, store.TrackedMawthoq, map[string]string{"k": `{"platform":"tiktok","account":"1000000009"}`}, "k")
	record(t, db,
		store.CheckResult{TargetID: ids[0], Outcome: "found", Status: "active", HTTPStatus: 200,
			Detail: json.RawMessage(`{"licenseNumber":"M-9","expiryDate":"2027-01-02"}`), CheckedAt: t0},
		store.CheckResult{TargetID: ids[0], Outcome: "provider_error", Code: "500", HTTPStatus: 500, CheckedAt: t0.Add(time.Hour)})

	const mawthoq = `SELECT concat_ws(' ', status, license_number, expiry_date, last_check_outcome, last_error) FROM bi.mawthoq_status_current`
	spendBefore, mawthoqBefore := spendViews(t, db, t0), viewLines(t, db, mawthoq)
	if want := "active M-9 2027-01-02 provider_error 500"; mawthoqBefore != want {
		t.Fatalf("mawthoq current before: %q, want %q", mawthoqBefore, want)
	}
	if !strings.Contains(spendBefore, "rev=1") || !strings.Contains(spendBefore, "intraday") {
		t.Fatalf("spend before:\n%s", spendBefore)
	}

	m, err := db.NewMigrations()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	p := m.Provider()
	var prev int64
	for _, s := range p.ListSources() {
		if s.Version < 8 && s.Version > prev {
			prev = s.Version
		}
	}
	if _, err := p.DownTo(ctx, prev); err != nil {
		t.Fatal(err)
	}
	wantCols := map[string]string{
		"bi.mgid_client_spend_daily":     "agency_id:bigint client_id:bigint spend_date:date spent:numeric(18,4) first_seen_at:timestamp with time zone updated_at:timestamp with time zone revisions:integer",
		"bi.mgid_client_spend_revisions": "agency_id:bigint client_id:bigint spend_date:date spent:numeric(18,4) valid_from:timestamp with time zone valid_to:timestamp with time zone",
		"bi.mawthoq_status_current": "target_id:bigint platform:text account_masked:text account_hash:text label:text tracked_since:timestamp with time zone " +
			"outcome:text status:text error_code:text message:text http_status:integer license_number:text expiry_date:text " +
			"valid_from:timestamp with time zone valid_to:timestamp with time zone last_checked_at:timestamp with time zone",
		"bi.firstlight_redeem_current": "target_id:bigint check_name:text device_id:text content_id:text content_type:text catalog_type:text delivery:text " +
			"user_token_ref:text tracked_since:timestamp with time zone outcome:text error_code:text description:text http_status:integer tracking_id:text " +
			"valid_from:timestamp with time zone valid_to:timestamp with time zone last_checked_at:timestamp with time zone",
	}
	for rel, want := range wantCols {
		if got := strings.ReplaceAll(columns(t, db, rel), "\n", " "); got != want {
			t.Errorf("%s after down:\n%s\nwant:\n%s", rel, got, want)
		}
	}
	if got := viewLines(t, db, `SELECT format('%s %s', spent, revisions) FROM bi.mgid_client_spend_daily`); got != "8.0000 2" {
		t.Errorf("spend after down: %q, want every change counted again (8.0000 2)", got)
	}
	if got := viewLines(t, db, `SELECT concat_ws(' ', outcome, status, expiry_date) FROM bi.mawthoq_status_current`); got != "provider_error" {
		t.Errorf("mawthoq current after down: %q", got)
	}
	if got := viewLines(t, db, `SELECT concat_ws(' ', to_regclass('syncer.mgid_spend_day'), to_regproc('syncer.iso_date'))`); got != "" {
		t.Errorf("left after down: %q", got)
	}

	if err := m.Up(ctx, io.Discard); err != nil {
		t.Fatal(err)
	}
	if got := spendViews(t, db, t0); got != spendBefore {
		t.Errorf("spend after up:\n%s\nbefore:\n%s", got, spendBefore)
	}
	if got := viewLines(t, db, mawthoq); got != mawthoqBefore {
		t.Errorf("mawthoq current after up: %q, before %q", got, mawthoqBefore)
	}
	if got := viewLines(t, db, `SELECT (obj_description('bi.mawthoq_status_current'::regclass, 'pg_class') IS NOT NULL)::text`); got != "true" {
		t.Error("bi.mawthoq_status_current lost its comment")
	}

	// Rows from before 00008 are classified in the zone the jobs recorded
	// (syncer.mgid_timezone(), 00007). 21:30 UTC on 2 November is still
	// that day in UTC (intraday when written) but 00:30 on the 3rd in
	// Moscow: after the day closed there.
	nov2 := func(spent string) []store.SpendDay {
		return []store.SpendDay{{AgencyID: 1, ClientID: 10, Day: day("2026-11-02"), Spent: money.MustParse(spent)}}
	}
	upsertIn(t, db, t0.Add(25*time.Hour), time.UTC, nov2("1"))
	upsertIn(t, db, t0.Add(37*time.Hour+30*time.Minute), time.UTC, nov2("2"))
	if got := viewLines(t, db, `SELECT kind FROM bi.mgid_client_spend_revisions WHERE spend_date = '2026-11-02'`); got != "intraday" {
		t.Fatalf("written in UTC: %q, want intraday", got)
	}
	if _, err := p.DownTo(ctx, prev); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, `INSERT INTO syncer.settings (key, value) VALUES ('mgid_timezone', 'Europe/Moscow')`); err != nil {
		t.Fatal(err)
	}
	if err := m.Up(ctx, io.Discard); err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		"daily 1/10/2026-11-01=8.0000 rev=1 tz=Europe/Moscow first+00:00:00 upd+17:00:00",
		"daily 1/10/2026-11-02=2.0000 rev=1 tz=Europe/Moscow first+1 day 01:00:00 upd+1 day 13:30:00",
		"revision 1/10/2026-11-01=5.0000 intraday from+00:00:00 to+02:00:00",
		"revision 1/10/2026-11-01=7.0000 restatement from+02:00:00 to+17:00:00",
		"revision 1/10/2026-11-02=1.0000 restatement from+1 day 01:00:00 to+1 day 13:30:00",
	}, "\n")
	if got := spendViews(t, db, t0); got != want {
		t.Errorf("spend after up in Moscow:\n%s\nwant:\n%s", got, want)
	}
}
