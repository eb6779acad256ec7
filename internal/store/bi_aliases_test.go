package store_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"syncer/internal/store"
	"syncer/internal/testdb"
)

// Issue 10's renamed columns answer again under their old names (issue 15),
// with the meaning they had before 00008: the latest check's own values, so
// a dashboard written against the old names reads what it read before.
func TestDeprecatedAliasesReadAsBeforeTheRename(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	at := func(h int) time.Time { return trackedT0.Add(time.Duration(h) * time.Hour) }
	m := trackAs(t, db, store.TrackedMawthoq, map[string]string{
		"m-failed": `{"platform":"instagram","account":"1000000001"}`,
		"m-never":  `{"platform":"tiktok","account":"1000000002"}`,
	}, "m-failed", "m-never")
	f := trackAs(t, db, store.TrackedFirstlight, map[string]string{
		"f-denied": `{"device_id":"d","content_id":"c","content_type":"vod","catalog_type":"movie","delivery":"stream","user_token_ref":"U"}`,
	}, "f-denied")
	record(t, db,
		store.CheckResult{TargetID: m[0], Outcome: "found", Status: "active", HTTPStatus: 200,
			Detail: json.RawMessage(`{"status":"active","licenseNumber":"M-1","expiryDate":"2027-03-31"}`), CheckedAt: at(0)},
		store.CheckResult{TargetID: m[0], Outcome: "provider_error", Code: "500", Message: "Please contact Gmedia", HTTPStatus: 500, CheckedAt: at(2)},
		store.CheckResult{TargetID: f[0], Outcome: "not_entitled", Code: "40400140", Message: "not entitled", HTTPStatus: 404, CheckedAt: at(1)},
	)
	got := viewLines(t, db, `
		SELECT concat_ws(' ', label, coalesce(outcome, '-'), 'at+' || coalesce((last_checked_at - $1)::text, '-'),
		       coalesce(error_code, '-'), coalesce(message, '-'), coalesce(http_status::text, '-'),
		       'since+' || coalesce((valid_from - $1)::text, '-'), coalesce(valid_to::text, 'open'),
		       outcome IS NOT DISTINCT FROM last_check_outcome AND last_checked_at IS NOT DISTINCT FROM last_check_at
		       AND http_status IS NOT DISTINCT FROM last_http_status AND valid_from IS NOT DISTINCT FROM last_outcome_since)
		FROM bi.mawthoq_status_current ORDER BY label`, trackedT0)
	want := strings.Join([]string{
		"m-failed provider_error at+02:00:00 500 Please contact Gmedia 500 since+02:00:00 open t",
		"m-never - at+- - - - since+- open t",
	}, "\n")
	if got != want {
		t.Errorf("bi.mawthoq_status_current old names:\n%s\nwant:\n%s", got, want)
	}
	// Before issue 10, error_code and description were the latest check's
	// for every outcome: a not_entitled answer's code shows there, while
	// last_error_code (a failure's only) is NULL.
	got = viewLines(t, db, `
		SELECT concat_ws(' ', check_name, outcome, error_code, description, http_status, 'since+' || (valid_from - $1)::text,
		       coalesce(valid_to::text, 'open'), 'at+' || (last_checked_at - $1)::text, coalesce(last_error_code, '-'))
		FROM bi.firstlight_redeem_current`, trackedT0)
	if want := "f-denied not_entitled 40400140 not entitled 404 since+01:00:00 open at+01:00:00 -"; got != want {
		t.Errorf("bi.firstlight_redeem_current old names:\n%s\nwant:\n%s", got, want)
	}
	// Each alias says it is deprecated and what replaces it.
	got = viewLines(t, db, `
		SELECT c.relname || '.' || a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
		WHERE c.relnamespace = 'bi'::regnamespace AND a.attnum > 0
		  AND col_description(c.oid, a.attnum) LIKE 'Deprecated%'
		ORDER BY 1`)
	want = strings.Join([]string{
		"firstlight_redeem_current.description", "firstlight_redeem_current.error_code", "firstlight_redeem_current.http_status",
		"firstlight_redeem_current.last_checked_at", "firstlight_redeem_current.outcome", "firstlight_redeem_current.valid_from",
		"firstlight_redeem_current.valid_to",
		"mawthoq_status_current.error_code", "mawthoq_status_current.http_status", "mawthoq_status_current.last_checked_at",
		"mawthoq_status_current.message", "mawthoq_status_current.outcome", "mawthoq_status_current.valid_from",
		"mawthoq_status_current.valid_to",
	}, "\n")
	if got != want {
		t.Errorf("deprecated columns:\n%s\nwant:\n%s", got, want)
	}
}
