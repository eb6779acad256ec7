package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"syncer/internal/store"
	"syncer/internal/testdb"
)

// bi.mawthoq_status_current reads the licence from what RecordChecks keeps
// on each target (00023, 00034): a renewal inside a continuing active period moves
// expiry_date, a status change opens a new found period, a failed check
// keeps the last licence, a removed target leaves the view; and the kept
// columns agree, for every target, with the last found period derived from
// the history itself (the view's form before 00023).
func TestMawthoqLicenceKeptOnTarget(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	params := map[string]string{}
	keys := []string{"renewed", "expired", "failed", "removed", "never", "odd"}
	for i, k := range keys {
		params[k] = fmt.Sprintf(`{"platform":"instagram","account":"10000000%02d"}`, i)
	}
	ids := trackAs(t, db, store.TrackedMawthoq, params, keys...)
	t0 := trackedT0
	found := func(id int64, h int, status, expiry string) store.CheckResult {
		return store.CheckResult{TargetID: id, Outcome: "found", Status: status, HTTPStatus: 200, CheckedAt: t0.Add(time.Duration(h) * time.Hour),
			Detail: json.RawMessage(fmt.Sprintf(`{"status":%q,"licenseNumber":"M-%d","expiryDate":%q}`, status, id, expiry))}
	}
	// Rounds as the check job records them: a whole batch at once.
	rounds := [][]store.CheckResult{
		{found(ids[0], 0, "active", "2026-12-10"), found(ids[1], 0, "active", "2026-12-05"), found(ids[2], 0, "active", "2026-12-20"),
			found(ids[3], 0, "active", "2026-12-15"), found(ids[5], 0, "active", "soon")},
		{found(ids[0], 1, "active", "2027-12-10"), found(ids[1], 1, "expired", "2026-12-05"),
			{TargetID: ids[2], Outcome: "provider_error", Code: "500", HTTPStatus: 500, CheckedAt: t0.Add(time.Hour)},
			found(ids[3], 1, "active", "2026-12-16"), found(ids[5], 1, "active", "2026-12-25")},
		{found(ids[5], 2, "active", "later")},
		// Values as bi reads them from the stored answer: a NUL dropped as
		// the stored detail drops it (a NUL in expiryDate failed the whole
		// batch before 00034), a number printed as jsonb prints it.
		{{TargetID: ids[0], Outcome: "found", Status: "active", HTTPStatus: 200, CheckedAt: t0.Add(3 * time.Hour),
			Detail: json.RawMessage(`{"status":"active","licenseNumber":"M-\u0000R","expiryDate":"2027-12-\u000010"}`)},
			{TargetID: ids[5], Outcome: "found", Status: "active", HTTPStatus: 200, CheckedAt: t0.Add(3 * time.Hour),
				Detail: json.RawMessage(`{"status":"active","licenseNumber":1.50,"expiryDate":"later"}`)}},
	}
	for _, r := range rounds {
		if _, err := db.RecordChecks(ctx, "r", 1, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.RemoveTarget(ctx, store.TrackedMawthoq, "removed"); err != nil {
		t.Fatal(err)
	}
	got := viewLines(t, db, `
		SELECT concat_ws(' ', label, coalesce(status, '-'), coalesce(license_number, '-'), coalesce(expiry_date::text, '-'),
		       coalesce(expiry_date_unparsed, '-'), coalesce(last_check_outcome, '-'))
		FROM bi.mawthoq_status_current ORDER BY label`)
	want := strings.Join([]string{
		fmt.Sprintf("expired expired M-%d 2026-12-05 - found", ids[1]),
		fmt.Sprintf("failed active M-%d 2026-12-20 - provider_error", ids[2]),
		"never - - - - -",
		"odd active 1.50 - later found",
		"renewed active M-R 2027-12-10 - found",
	}, "\n")
	if got != want {
		t.Errorf("bi.mawthoq_status_current:\n%s\nwant:\n%s", got, want)
	}
	got = viewLines(t, db, `SELECT label FROM bi.mawthoq_status_current
		WHERE expiry_date >= '2026-12-01' AND expiry_date < date '2026-12-01' + 30 ORDER BY expiry_date`)
	if want := "expired\nfailed"; got != want {
		t.Errorf("expiring within 30 days of 2026-12-01:\n%s\nwant:\n%s", got, want)
	}
	// Every target, removed ones too: the kept columns are the history's.
	got = viewLines(t, db, `
		SELECT t.natural_key FROM syncer.tracked_targets t
		LEFT JOIN (SELECT DISTINCT ON (x.target_id) x.target_id, x.id, x.detail
		           FROM syncer.tracked_status_history x WHERE x.outcome = 'found'
		           ORDER BY x.target_id, x.valid_from DESC, x.id DESC) f ON f.target_id = t.id
		WHERE (t.found_history_id, t.license_expiry, t.license_number)
		      IS DISTINCT FROM (f.id, syncer.iso_date(f.detail ->> 'expiryDate'), f.detail ->> 'licenseNumber')`)
	if got != "" {
		t.Errorf("targets whose kept licence differs from their history: %s", got)
	}
}
