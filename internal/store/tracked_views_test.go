package store_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"syncer/internal/store"
	"syncer/internal/testdb"
)

// trackAs adds targets of kind with the given keys and params; ids in order.
func trackAs(t *testing.T, db *store.DB, kind store.TrackedKind, params map[string]string, keys ...string) []int64 {
	t.Helper()
	in := make([]store.TargetInput, len(keys))
	for i, k := range keys {
		in[i] = store.TargetInput{Key: k, Params: json.RawMessage(params[k]), Label: k}
	}
	if _, err := db.UpsertTargets(context.Background(), kind, in, false); err != nil {
		t.Fatal(err)
	}
	ids := make([]int64, len(keys))
	for i, k := range keys {
		if err := db.QueryRow(context.Background(), `SELECT id FROM syncer.tracked_targets WHERE kind = $1 AND natural_key = $2`,
			kind, k).Scan(&ids[i]); err != nil {
			t.Fatal(err)
		}
	}
	return ids
}

func record(t *testing.T, db *store.DB, checks ...store.CheckResult) {
	t.Helper()
	for _, c := range checks {
		if _, err := db.RecordChecks(context.Background(), "r", 1, []store.CheckResult{c}); err != nil {
			t.Fatal(err)
		}
	}
}

// viewLines renders query's rows (one text column) as lines.
func viewLines(t *testing.T, db *store.DB, query string, args ...any) string {
	t.Helper()
	var out string
	if err := db.QueryRow(context.Background(), `SELECT coalesce(string_agg(line, E'\n'), '') FROM (`+query+`) q(line)`, args...).Scan(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// A failed or not-found check after a found one keeps the licence in
// bi.mawthoq_status_current, with the failed check beside it; expiry_date
// is a date, and text that is not one is shown apart.
func TestMawthoqCurrentKeepsLastFoundLicence(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	t0 := trackedT0
	params := map[string]string{
		"a-failed":   `{"platform":"instagram","account":"1000000001"}`,
		"b-oddDate":  `{"platform":"tiktok","account":"1000000002"}`,
		"c-never":    `{"platform":"snapchat","account":"1000000003"}`,
		"d-gone":     `{"platform":"youtube","account":"1000000004"}`,
		"e-notfound": `{"platform":"twitter","account":"1000000005"}`,
	}
	ids := trackAs(t, db, store.TrackedMawthoq, params, "a-failed", "b-oddDate", "c-never", "d-gone", "e-notfound")
	at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
	found := func(id int64, h int, status, body string) store.CheckResult {
		return store.CheckResult{TargetID: id, Outcome: "found", Status: status, HTTPStatus: 200, Detail: json.RawMessage(body), CheckedAt: at(h)}
	}
	record(t, db,
		found(ids[0], 0, "active", `{"status":"active","licenseNumber":"M-1","expiryDate":"2027-03-31"}`),
		found(ids[0], 1, "active", `{"status":"active","licenseNumber":"M-1","expiryDate":"2027-03-31"}`),
		store.CheckResult{TargetID: ids[0], Outcome: "provider_error", Code: "500", Message: "Please contact Gmedia", HTTPStatus: 500, CheckedAt: at(2)},
		found(ids[1], 0, "active", `{"status":"active","licenseNumber":"M-2","expiryDate":"31/03/2027"}`),
		found(ids[3], 0, "suspended", `{"status":"suspended","licenseNumber":"M-4","expiryDate":"2027-02-30"}`),
		store.CheckResult{TargetID: ids[3], Outcome: "not_found", Code: "4000", Message: "No data found", HTTPStatus: 404, CheckedAt: at(3)},
		store.CheckResult{TargetID: ids[4], Outcome: "provider_error", Message: "connection refused", CheckedAt: at(1)},
	)
	got := viewLines(t, db, `
		SELECT concat_ws(' ', label, coalesce(status, '-'), coalesce(license_number, '-'), coalesce(expiry_date::text, '-'),
		       coalesce(expiry_date_unparsed, '-'), 'lic+' || coalesce((license_checked_at - $1)::text, '-'),
		       coalesce(last_check_outcome, '-'), 'at+' || coalesce((last_check_at - $1)::text, '-'),
		       coalesce(last_error, '-'), coalesce(last_error_code, '-'), coalesce(last_http_status::text, '-'),
		       'since+' || coalesce((last_outcome_since - $1)::text, '-'), pg_typeof(expiry_date)::text)
		FROM bi.mawthoq_status_current ORDER BY label`, t0)
	want := strings.Join([]string{
		"a-failed active M-1 2027-03-31 - lic+01:00:00 provider_error at+02:00:00 Please contact Gmedia 500 500 since+02:00:00 date",
		"b-oddDate active M-2 - 31/03/2027 lic+00:00:00 found at+00:00:00 - - 200 since+00:00:00 date",
		"c-never - - - - lic+- - at+- - - - since+- date",
		"d-gone suspended M-4 - 2027-02-30 lic+00:00:00 not_found at+03:00:00 No data found 4000 404 since+03:00:00 date",
		"e-notfound - - - - lic+- provider_error at+01:00:00 connection refused - - since+01:00:00 date",
	}, "\n")
	if got != want {
		t.Errorf("bi.mawthoq_status_current:\n%s\nwant:\n%s", got, want)
	}
	// The history keeps every period, with the same typed expiry date.
	got = viewLines(t, db, `
		SELECT concat_ws(' ', label, outcome, coalesce(expiry_date::text, '-'), coalesce(expiry_date_unparsed, '-'), checks)
		FROM bi.mawthoq_status_history ORDER BY label, valid_from`)
	want = strings.Join([]string{
		"a-failed found 2027-03-31 - 2",
		"a-failed provider_error - - 1",
		"b-oddDate found - 31/03/2027 1",
		"d-gone found - 2027-02-30 1",
		"d-gone not_found - - 1",
		"e-notfound provider_error - - 1",
	}, "\n")
	if got != want {
		t.Errorf("bi.mawthoq_status_history:\n%s\nwant:\n%s", got, want)
	}
}

// The same rule for Firstlight: the last entitled/not_entitled answer
// stays when a later check fails.
func TestFirstlightCurrentKeepsLastDefiniteAnswer(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	t0 := trackedT0
	params := map[string]string{
		"a-entitled": `{"device_id":"d1","content_id":"c1","content_type":"vod","catalog_type":"movie","delivery":"stream","user_token_ref":"U"}`,
		"b-denied":   `{"device_id":"d2","content_id":"c2","content_type":"vod","catalog_type":"movie","delivery":"stream","user_token_ref":"U"}`,
		"c-failing":  `{"device_id":"d3","content_id":"c3","content_type":"vod","catalog_type":"movie","delivery":"stream","user_token_ref":"U"}`,
	}
	ids := trackAs(t, db, store.TrackedFirstlight, params, "a-entitled", "b-denied", "c-failing")
	at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
	tr := func(id string) json.RawMessage { return json.RawMessage(`{"tracking_id":"` + id + `"}`) }
	record(t, db,
		store.CheckResult{TargetID: ids[0], Outcome: "entitled", HTTPStatus: 200, Detail: tr("tr-1"), CheckedAt: at(0)},
		store.CheckResult{TargetID: ids[0], Outcome: "provider_error", Code: "40400190", Message: "upstream busy", HTTPStatus: 503, Detail: tr("tr-2"), CheckedAt: at(1)},
		store.CheckResult{TargetID: ids[1], Outcome: "entitled", HTTPStatus: 200, Detail: tr("tr-3"), CheckedAt: at(0)},
		store.CheckResult{TargetID: ids[1], Outcome: "not_entitled", Code: "40400140", Message: "not entitled", HTTPStatus: 404, Detail: tr("tr-4"), CheckedAt: at(1)},
		store.CheckResult{TargetID: ids[1], Outcome: "auth_failed", Code: "40400101", Message: "user token invalid", HTTPStatus: 401, Detail: tr("tr-5"), CheckedAt: at(2)},
		store.CheckResult{TargetID: ids[2], Outcome: "auth_failed", Code: "40400101", Message: "user token invalid", HTTPStatus: 401, CheckedAt: at(0)},
	)
	got := viewLines(t, db, `
		SELECT concat_ws(' ', check_name, coalesce(entitlement, '-'), coalesce(entitlement_code, '-'),
		       coalesce(entitlement_description, '-'), coalesce(tracking_id, '-'),
		       'since+' || coalesce((entitlement_since - $1)::text, '-'), 'chk+' || coalesce((entitlement_checked_at - $1)::text, '-'),
		       coalesce(last_check_outcome, '-'), 'at+' || coalesce((last_check_at - $1)::text, '-'),
		       coalesce(last_error, '-'), coalesce(last_error_code, '-'), coalesce(last_http_status::text, '-'),
		       coalesce(last_tracking_id, '-'), 'since+' || coalesce((last_outcome_since - $1)::text, '-'))
		FROM bi.firstlight_redeem_current ORDER BY check_name`, t0)
	want := strings.Join([]string{
		"a-entitled entitled - - tr-1 since+00:00:00 chk+00:00:00 provider_error at+01:00:00 upstream busy 40400190 503 tr-2 since+01:00:00",
		"b-denied not_entitled 40400140 not entitled tr-4 since+01:00:00 chk+01:00:00 auth_failed at+02:00:00 user token invalid 40400101 401 tr-5 since+02:00:00",
		"c-failing - - - - since+- chk+- auth_failed at+00:00:00 user token invalid 40400101 401 - since+00:00:00",
	}, "\n")
	if got != want {
		t.Errorf("bi.firstlight_redeem_current:\n%s\nwant:\n%s", got, want)
	}
}

// Every view 00008 creates or recreates, and each of its columns, has a
// comment: a dropped view loses the ones it had.
func TestContractViewsAreCommented(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	got := viewLines(t, db, `
		SELECT c.relname || coalesce('.' || a.attname, '')
		FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'bi'
		LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
		WHERE c.relname IN ('mgid_client_spend_daily', 'mgid_client_spend_revisions', 'mawthoq_status_current',
		                    'mawthoq_status_history', 'firstlight_redeem_current')
		  AND (col_description(c.oid, a.attnum) IS NULL OR obj_description(c.oid, 'pg_class') IS NULL)`)
	if got != "" {
		t.Errorf("without a comment:\n%s", got)
	}
}

// syncer.iso_date takes only real YYYY-MM-DD dates; anything else is NULL
// (and shown raw in expiry_date_unparsed), never an error that would fail
// the whole view.
func TestIsoDate(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	cases := []struct{ in, want string }{
		{"2027-03-31", "2027-03-31"},
		{"2024-02-29", "2024-02-29"}, // leap year
		{"2023-02-29", "-"},
		{"2027-04-31", "-"},
		{"2027-13-01", "-"},
		{"0000-01-01", "-"},
		{"2027-1-5", "-"},
		{"2027-03-31T00:00:00Z", "-"},
		{"31/03/2027", "-"},
		{"", "-"},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			if got := viewLines(t, db, `SELECT coalesce(syncer.iso_date($1)::text, '-')`, c.in); got != c.want {
				t.Errorf("iso_date(%q) = %s, want %s", c.in, got, c.want)
			}
		})
	}
	if got := viewLines(t, db, `SELECT coalesce(syncer.iso_date(NULL)::text, '-')`); got != "-" {
		t.Errorf("iso_date(NULL) = %s", got)
	}
}
