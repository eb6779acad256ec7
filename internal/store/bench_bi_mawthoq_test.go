package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"syncer/internal/store"
)

// BenchmarkBIMawthoqExpiring is the Mawthoq part of `make bench-bi` on its
// own (BENCH_BI_OUT as there): 100,000 tracked targets (BENCH_BI_TARGETS)
// and their check history, then the licences-expiring question as the BI
// login. BenchmarkBIDashboards runs the same report after its wallet history.
func BenchmarkBIMawthoqExpiring(b *testing.B) {
	db, dsn := biDatabase(b)
	var rep strings.Builder
	for it := 0; it < b.N; it++ {
		if it > 0 {
			break
		}
		mawthoqReport(b, db, dsn, &rep, time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC))
	}
	b.StopTimer()
	if out := os.Getenv("BENCH_BI_OUT"); out != "" {
		if err := os.WriteFile(out, []byte(rep.String()), 0o644); err != nil {
			b.Fatal(err)
		}
	} else {
		fmt.Print(rep.String())
	}
}

// mawthoqReport tracks BENCH_BI_TARGETS Mawthoq targets (100,000) unless the
// database already has them, writes their check history through the store
// calls the check round makes (three rounds, in batches of 1,000: every
// licence found with an expiry spread over two years; then 10% not found;
// then every licence found again, 5% renewed to a later expiry within the
// same active period), and times the licences-expiring question.
func mawthoqReport(b *testing.B, db *store.DB, dsn string, rep *strings.Builder, end time.Time) {
	ctx := context.Background()
	n := envInt(b, "BENCH_BI_TARGETS", 100_000)
	have := count64(b, db, `SELECT count(*) FROM syncer.tracked_targets WHERE kind = 'mawthoq' AND active`)
	if have == 0 {
		t0 := time.Now()
		targets := make([]store.TargetInput, n)
		for i := range targets {
			acct := fmt.Sprintf("1%08d", i)
			targets[i] = store.TargetInput{Key: "mawthoq-web:" + acct, Label: fmt.Sprintf("shop %d", i),
				Params: json.RawMessage(fmt.Sprintf(`{"platform":"mawthoq-web","account":%q}`, acct))}
		}
		if _, err := db.UpsertTargets(ctx, store.TrackedMawthoq, targets, false); err != nil {
			b.Fatal(err)
		}
		var ids []int64
		if err := db.ListTargets(ctx, store.TrackedMawthoq, false, func(t store.TargetRow) error {
			ids = append(ids, t.ID)
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		today := time.Date(end.Year(), end.Month(), end.Day(), 0, 0, 0, 0, time.UTC)
		found := func(i int, at time.Time, renewed bool) store.CheckResult {
			exp := today.AddDate(0, 0, -60+(i*7919)%730)
			if renewed {
				exp = exp.AddDate(1, 0, 0)
			}
			return store.CheckResult{TargetID: ids[i], Outcome: "found", Status: "active", HTTPStatus: 200, CheckedAt: at,
				Detail: json.RawMessage(fmt.Sprintf(`{"licenseNumber":"ML-%07d","status":"active","expiryDate":%q}`, i, exp.Format("2006-01-02")))}
		}
		var rows int64
		var recording time.Duration
		for round := 0; round < 3; round++ {
			at := end.Add(time.Duration(round-3) * 24 * time.Hour)
			for lo := 0; lo < len(ids); lo += 1000 {
				batch := make([]store.CheckResult, 0, 1000)
				for i := lo; i < lo+1000 && i < len(ids); i++ {
					switch {
					case round == 1 && i%10 == 3:
						batch = append(batch, store.CheckResult{TargetID: ids[i], Outcome: "not_found", Code: "NOT_FOUND",
							Message: "no licence", HTTPStatus: 404, CheckedAt: at})
					default:
						batch = append(batch, found(i, at, round == 2 && i%20 == 7))
					}
				}
				t1 := time.Now()
				res, err := db.RecordChecks(ctx, "bench", 1, batch)
				recording += time.Since(t1)
				if err != nil {
					b.Fatal(err)
				}
				rows += res.Rows()
			}
		}
		if _, err := db.Exec(ctx, `VACUUM ANALYZE syncer.tracked_targets, syncer.tracked_status_history`); err != nil {
			b.Fatal(err)
		}
		fmt.Fprintf(rep, "Mawthoq: %d targets tracked and checked three times through store.RecordChecks (batches of 1,000; %d history rows written or updated) in %s, %s of it in RecordChecks.\n\n",
			len(ids), rows, time.Since(t0).Round(time.Second), recording.Round(100*time.Millisecond))
	} else {
		fmt.Fprintf(rep, "Mawthoq: %d targets kept from an earlier run, %d status periods.\n\n",
			have, count64(b, db, `SELECT count(*) FROM syncer.tracked_status_history`))
	}
	c := connectAsBI(b, db, dsn)
	today := time.Date(end.Year(), end.Month(), end.Day(), 0, 0, 0, 0, time.UTC)
	timeAnalyst(b, c, rep, fmt.Sprintf("Mawthoq licences (issue 15), %d targets", n), []analystQuery{
		{"licences expiring within 30 days (bi.mawthoq_status_current)", 50 * time.Millisecond,
			`SELECT target_id, account_masked, label, license_number, expiry_date FROM bi.mawthoq_status_current
			 WHERE expiry_date >= $1::date AND expiry_date < $1::date + 30 ORDER BY expiry_date`,
			[]any{today}},
	})
}
