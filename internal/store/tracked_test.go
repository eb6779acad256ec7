package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"syncer/internal/store"
	"syncer/internal/testdb"
)

var trackedT0 = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func trackTargets(t *testing.T, db *store.DB, kind store.TrackedKind, n int) []int64 {
	t.Helper()
	in := make([]store.TargetInput, n)
	for i := range in {
		in[i] = store.TargetInput{Key: fmt.Sprintf("k%05d", i), Params: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i))}
	}
	if _, err := db.UpsertTargets(context.Background(), kind, in, false); err != nil {
		t.Fatal(err)
	}
	rows, _ := db.Query(context.Background(), `SELECT id FROM syncer.tracked_targets WHERE kind = $1 ORDER BY natural_key`, kind)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func TestUpsertTargetsCountsWhatChanged(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	a := store.TargetInput{Key: "tiktok:1000000008", Params: json.RawMessage(`{"platform":"tiktok","account":"1000000008"}`), Label: "one", SubjectHash: "h1"}
	b := store.TargetInput{Key: "x:2000000006", Params: json.RawMessage(`{"account":"2000000006","platform":"twitter"}`), SubjectHash: "h2"}
	relabelled := a
	relabelled.Label = "renamed"
	// The same params with keys in another order are the same jsonb.
	reordered := b
	reordered.Params = json.RawMessage(`{"platform":"twitter","account":"2000000006"}`)
	steps := []struct {
		name string
		in   []store.TargetInput
		keep bool
		want store.UpsertResult
	}{
		{"first import", []store.TargetInput{a, b}, false, store.UpsertResult{Added: 2}},
		{"same again", []store.TargetInput{a, reordered}, false, store.UpsertResult{Unchanged: 2}},
		{"label kept on add without label", []store.TargetInput{{Key: a.Key, Params: a.Params, SubjectHash: a.SubjectHash}}, true, store.UpsertResult{Unchanged: 1}},
		{"label changed", []store.TargetInput{relabelled}, false, store.UpsertResult{Updated: 1}},
		{"empty", nil, false, store.UpsertResult{}},
	}
	for _, s := range steps {
		got, err := db.UpsertTargets(ctx, store.TrackedMawthoq, s.in, s.keep)
		if err != nil || got != s.want {
			t.Fatalf("%s: %+v, %v; want %+v", s.name, got, err, s.want)
		}
	}
	if err := db.RemoveTarget(ctx, store.TrackedMawthoq, b.Key); err != nil {
		t.Fatal(err)
	}
	if err := db.RemoveTarget(ctx, store.TrackedMawthoq, b.Key); !errors.Is(err, store.ErrNotTracked) {
		t.Fatalf("second remove: %v, want ErrNotTracked", err)
	}
	// The other kind's namespace is separate.
	if err := db.RemoveTarget(ctx, store.TrackedFirstlight, a.Key); !errors.Is(err, store.ErrNotTracked) {
		t.Fatalf("remove of another kind: %v, want ErrNotTracked", err)
	}
	if got, err := db.UpsertTargets(ctx, store.TrackedMawthoq, []store.TargetInput{b}, false); err != nil || got != (store.UpsertResult{Updated: 1}) {
		t.Fatalf("re-adding a removed target: %+v, %v; want one updated", got, err)
	}
	var labels []string
	err := db.ListTargets(ctx, store.TrackedMawthoq, false, func(r store.TargetRow) error {
		if !r.Active || r.RemovedAt != nil {
			t.Errorf("target %s: active=%v removed_at=%v", r.Key, r.Active, r.RemovedAt)
		}
		labels = append(labels, r.Label)
		return nil
	})
	if err != nil || fmt.Sprint(labels) != "[renamed ]" {
		t.Fatalf("labels %q, %v", labels, err)
	}
}

func TestClaimTargetsTakesOnlyDueUnleased(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	ids := trackTargets(t, db, store.TrackedMawthoq, 6)
	trackTargets(t, db, store.TrackedFirstlight, 3) // another kind: never claimed here
	// ids[0] never checked; ids[1] checked long ago; ids[2] checked recently;
	// ids[3] leased by another replica; ids[4] with a lease that ran out; ids[5] removed.
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := db.Exec(ctx, sql, args...); err != nil {
			t.Fatal(err)
		}
	}
	exec(`UPDATE syncer.tracked_targets SET last_checked_at = $2 WHERE id = $1`, ids[1], trackedT0.Add(-48*time.Hour))
	exec(`UPDATE syncer.tracked_targets SET last_checked_at = $2 WHERE id = $1`, ids[2], trackedT0.Add(-time.Hour))
	exec(`UPDATE syncer.tracked_targets SET lease_until = $2, leased_by = 'other' WHERE id = $1`, ids[3], trackedT0.Add(time.Minute))
	exec(`UPDATE syncer.tracked_targets SET lease_until = $2, leased_by = 'dead' WHERE id = $1`, ids[4], trackedT0.Add(-time.Second))
	if err := db.RemoveTarget(ctx, store.TrackedMawthoq, "k00005"); err != nil {
		t.Fatal(err)
	}
	claim := store.Claim{Kind: store.TrackedMawthoq, Replica: "me", Now: trackedT0, DueBefore: trackedT0.Add(-24 * time.Hour),
		LeaseUntil: trackedT0.Add(5 * time.Minute), Limit: 2}
	first, cursor, err := db.ClaimTargets(ctx, claim)
	if err != nil {
		t.Fatal(err)
	}
	second, _, err := db.ClaimTargets(ctx, claim) // from the start again: the leases keep the first batch out
	if err != nil {
		t.Fatal(err)
	}
	third, _, err := db.ClaimTargets(ctx, claim)
	if err != nil {
		t.Fatal(err)
	}
	got := map[int64]bool{}
	for _, c := range append(first, second...) {
		got[c.ID] = true
	}
	// Never-checked and lapsed-lease targets sort first (NULL last_checked_at), then the stale one.
	if len(first) != 2 || len(second) != 1 || len(third) != 0 || !got[ids[0]] || !got[ids[1]] || !got[ids[4]] {
		t.Fatalf("claimed %v then %v then %v; want ids %d, %d, %d once each", first, second, third, ids[0], ids[4], ids[1])
	}
	var leasedBy string
	if err := db.QueryRow(ctx, `SELECT leased_by FROM syncer.tracked_targets WHERE id = $1`, ids[4]).Scan(&leasedBy); err != nil || leasedBy != "me" {
		t.Fatalf("leased_by = %q, %v", leasedBy, err)
	}
	// Released leases are due again at once, to a claim from the start;
	// a claim continuing after the first batch does not go back.
	if err := db.ReleaseTargets(ctx, "me", []int64{ids[0], ids[1]}); err != nil {
		t.Fatal(err)
	}
	claim.After = cursor
	after, _, err := db.ClaimTargets(ctx, claim)
	if err != nil || len(after) != 1 || after[0].ID != ids[1] {
		t.Fatalf("continuing after the first batch: %v, %v; want only %d", after, err, ids[1])
	}
	claim.After = store.ClaimCursor{}
	again, _, err := db.ClaimTargets(ctx, claim)
	if err != nil || len(again) != 1 || again[0].ID != ids[0] {
		t.Fatalf("after release: %v, %v", again, err)
	}
}

// periods returns the target's history as "outcome/status/code checks open|closed".
func periods(t *testing.T, db *store.DB, id int64) []string {
	t.Helper()
	rows, err := db.Query(context.Background(), `
		SELECT outcome, status, code, checks, valid_from, valid_to, last_checked_at
		FROM syncer.tracked_status_history WHERE target_id = $1 ORDER BY valid_from, id`, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var o, s, c string
		var n int
		var from, last time.Time
		var to *time.Time
		if err := rows.Scan(&o, &s, &c, &n, &from, &to, &last); err != nil {
			t.Fatal(err)
		}
		end := "open"
		if to != nil {
			end = "to+" + to.Sub(trackedT0).String()
		}
		out = append(out, fmt.Sprintf("%s/%s/%s x%d from+%s last+%s %s", o, s, c, n, from.Sub(trackedT0), last.Sub(trackedT0), end))
	}
	return out
}

func TestRecordChecksKeepsOneRowPerStatusPeriod(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	ids := trackTargets(t, db, store.TrackedMawthoq, 2)
	id := ids[0]
	check := func(h int, outcome store.Outcome, status, code string) store.CheckResult {
		return store.CheckResult{TargetID: id, Outcome: outcome, Status: status, Code: code, HTTPStatus: 200,
			Message: fmt.Sprintf("check at %dh", h), Detail: json.RawMessage(`{"h":` + fmt.Sprint(h) + `}`), CheckedAt: trackedT0.Add(time.Duration(h) * time.Hour)}
	}
	steps := []struct {
		check store.CheckResult
		want  store.RecordResult
	}{
		{check(0, "found", "active", ""), store.RecordResult{Opened: 1}},
		{check(1, "found", "active", ""), store.RecordResult{Continued: 1}}, // no change: only last_checked_at moves
		{check(2, "found", "suspended", ""), store.RecordResult{Closed: 1, Opened: 1}},
		{check(3, "found", "active", ""), store.RecordResult{Closed: 1, Opened: 1}}, // back: a new period
		{check(4, "not_found", "", "4000"), store.RecordResult{Closed: 1, Opened: 1}},
		{check(5, "not_found", "", "4000"), store.RecordResult{Continued: 1}},
		{check(6, "provider_error", "", "500"), store.RecordResult{Closed: 1, Opened: 1}},
		{check(7, "provider_error", "", ""), store.RecordResult{Closed: 1, Opened: 1}}, // another code
	}
	for i, s := range steps {
		got, err := db.RecordChecks(ctx, "me", int64(i+1), []store.CheckResult{s.check})
		if err != nil || got != s.want {
			t.Fatalf("step %d: %+v, %v; want %+v", i, got, err, s.want)
		}
	}
	want := []string{
		"found/active/ x2 from+0s last+1h0m0s to+2h0m0s",
		"found/suspended/ x1 from+2h0m0s last+2h0m0s to+3h0m0s",
		"found/active/ x1 from+3h0m0s last+3h0m0s to+4h0m0s",
		"not_found//4000 x2 from+4h0m0s last+5h0m0s to+6h0m0s",
		"provider_error//500 x1 from+6h0m0s last+6h0m0s to+7h0m0s",
		"provider_error// x1 from+7h0m0s last+7h0m0s open",
	}
	if got := periods(t, db, id); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("periods:\n%s\nwant\n%s", got, want)
	}
	var last time.Time
	var msg string
	if err := db.QueryRow(ctx, `SELECT t.last_checked_at, h.message FROM syncer.tracked_targets t
		JOIN syncer.tracked_status_history h ON h.target_id = t.id AND h.valid_to IS NULL WHERE t.id = $1`, id).Scan(&last, &msg); err != nil {
		t.Fatal(err)
	}
	if !last.Equal(trackedT0.Add(7*time.Hour)) || msg != "check at 7h" {
		t.Errorf("last_checked_at %s, message %q", last, msg)
	}
	// Removing closes the open period; a late check of the removed target
	// moves only its last_checked_at.
	if err := db.RemoveTarget(ctx, store.TrackedMawthoq, "k00000"); err != nil {
		t.Fatal(err)
	}
	if got, err := db.RecordChecks(ctx, "me", 9, []store.CheckResult{check(8, "found", "active", "")}); err != nil || got != (store.RecordResult{}) {
		t.Fatalf("check of a removed target: %+v, %v", got, err)
	}
	if got := periods(t, db, id); len(got) != 6 || got[5][len(got[5])-4:] == "open" {
		t.Errorf("after removal: %s", got)
	}
}

func TestRecordChecksBatchAndBadText(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ids := trackTargets(t, db, store.TrackedFirstlight, 300)
	var batch []store.CheckResult
	for i, id := range ids {
		c := store.CheckResult{TargetID: id, Outcome: "entitled", CheckedAt: trackedT0}
		if i%3 == 0 {
			// Text Postgres refuses (NUL, invalid UTF-8) must not fail the batch.
			c.Outcome, c.Code, c.Message = "invalid_request", "40400106", "bad\x00 catalog \xff"
		}
		switch i {
		case 3: // JSON that jsonb refuses
			c.Detail = json.RawMessage(`{"a":"x\u0000y","b\u0000":["\ud800"]}`)
		case 4:
			c.Detail = json.RawMessage(`not json`)
		case 5:
			c.Detail = json.RawMessage(`{"tracking_id":"t-5"}`)
		}
		batch = append(batch, c)
	}
	// A target twice in one batch: the later check wins.
	batch = append(batch, store.CheckResult{TargetID: ids[1], Outcome: "not_entitled", Code: "40400140", CheckedAt: trackedT0.Add(time.Second)})
	got, err := db.RecordChecks(context.Background(), "me", 1, batch)
	if err != nil || got != (store.RecordResult{Opened: 300}) {
		t.Fatalf("record: %+v, %v", got, err)
	}
	if got := periods(t, db, ids[1]); len(got) != 1 || got[0] != "not_entitled//40400140 x1 from+1s last+1s open" {
		t.Errorf("duplicate in batch: %s", got)
	}
	var msg string
	if err := db.QueryRow(context.Background(), `SELECT message FROM syncer.tracked_status_history WHERE target_id = $1`, ids[0]).Scan(&msg); err != nil || msg != "bad catalog \uFFFD" {
		t.Errorf("message %q, %v", msg, err)
	}
	for i, want := range map[int]string{3: `{"a": "xy", "b": ["�"]}`, 4: "", 5: `{"tracking_id": "t-5"}`} {
		var detail string
		if err := db.QueryRow(context.Background(), `SELECT coalesce(detail::text, '') FROM syncer.tracked_status_history WHERE target_id = $1`, ids[i]).Scan(&detail); err != nil || detail != want {
			t.Errorf("detail of check %d: %q, %v; want %q", i, detail, err, want)
		}
	}
}
