package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"syncer/internal/store"
)

// checkProblem is one thing `syncer check` found wrong, with the command
// that fixes it (or the first step towards it).
type checkProblem struct {
	Kind    string `json:"kind"` // stale, failing, missing_days, transfer, schema
	Subject string `json:"subject"`
	Message string `json:"message"`
	Fix     string `json:"fix"`
}

// cmdCheck is the verdict a cron entry, CI or a Kubernetes probe can act
// on: exit 1 when an enabled job is stale or its last run failed, a
// source-day is missing in the last --days days, a transfer needs a
// person, or the schema is behind the binary; 0 otherwise. It reads only
// the database and the configured schedules, so it needs only DATABASE_URL.
func cmdCheck(ctx context.Context, e env, args []string) error {
	fs, path := newFlags("check", e)
	asJSON := fs.Bool("json", false, "print one JSON document")
	days := fs.Int("days", 7, "look for missing source-days over this many days, today included (1..60)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("check takes no arguments: syncer check [--json] [--days N]")
	}
	if *days < 1 || *days > 60 {
		return usagef("--days %d: want 1..60", *days)
	}
	a, err := open(ctx, e, *path, needs{checks: checkReading})
	if err != nil {
		return err
	}
	defer a.close()
	now := time.Now()
	problems, err := a.checkProblems(ctx, now, *days)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(map[string]any{"ok": len(problems) == 0, "checked_at": now.UTC().Format(time.RFC3339),
			"days": *days, "problems": problems}); err != nil {
			return err
		}
	} else {
		for _, p := range problems {
			fmt.Fprintf(e.stdout, "%s: %s\n    fix: %s\n", p.Subject, p.Message, p.Fix)
		}
		if len(problems) == 0 {
			fmt.Fprintf(e.stdout, "ok: every enabled job fresh and its last run succeeded, no missing day in the last %d, no transfer waiting for a person, schema current\n", *days)
		}
	}
	if len(problems) > 0 {
		if !*asJSON {
			fmt.Fprintf(e.stderr, "syncer check: %d problem%s\n", len(problems), plural(len(problems)))
		}
		return errSilentFailure
	}
	return nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// checkProblems gathers every problem. The schema comes first: an empty or
// older schema may lack what the other reads need.
func (a *app) checkProblems(ctx context.Context, now time.Time, days int) ([]checkProblem, error) {
	var out []checkProblem
	have, err := a.db.SchemaVersion(ctx)
	if err != nil {
		return nil, err
	}
	want, err := store.BinaryMigrationVersion()
	if err != nil {
		return nil, err
	}
	switch {
	case have < want:
		out = append(out, checkProblem{"schema", "schema", fmt.Sprintf("the database is at migration %d, this binary needs %d", have, want), "syncer migrate up"})
		if have == 0 {
			return out, nil
		}
	case have > want:
		out = append(out, checkProblem{"schema", "schema", fmt.Sprintf("the database is at migration %d, newer than this binary's %d", have, want), "run the syncer version that migrated it"})
	}
	schedules, err := jobSchedules(a.cfg, now)
	if err != nil {
		return nil, err
	}
	fresh, err := a.db.SourceFreshness(ctx)
	if err != nil {
		return nil, err
	}
	lastSuccess := map[string]*time.Time{}
	for _, f := range fresh {
		lastSuccess[f.Job] = f.LastSuccessAt
	}
	streaks, err := a.db.RunStreaks(ctx)
	if err != nil {
		return nil, err
	}
	for _, s := range schedules {
		if !s.Enabled {
			continue
		}
		// As bi.source_freshness judges it, but by this configuration.
		staleAfter := s.StaleAfter()
		switch at := lastSuccess[s.Job]; {
		case at == nil:
			out = append(out, checkProblem{"stale", s.Job, "has never read provider data in a live run", "syncer once " + s.Job})
		case now.Sub(*at) > staleAfter:
			out = append(out, checkProblem{"stale", s.Job, fmt.Sprintf("stale: last data %s ago (%s), expected every %s, stale after %s",
				now.Sub(*at).Round(time.Second), at.UTC().Format(time.RFC3339), s.ExpectedInterval, staleAfter), "syncer once " + s.Job + " (see syncer jobs for why it is not running)"})
		}
		// Failed runs since the last success, backfill days aside: a
		// backfill day says how a past day went, not how the job is doing.
		if st := streaks[s.Job]; st.Failing > 0 {
			msg := fmt.Sprintf("the last run failed (%s): %s", st.LastErrorClass, truncate(st.LastError, 160))
			if st.Failing > 1 && st.FailingSince != nil {
				msg = fmt.Sprintf("failing since %s, %d runs in a row; the last (%s): %s", st.FailingSince.UTC().Format(time.RFC3339),
					st.Failing, st.LastErrorClass, truncate(st.LastError, 160))
			}
			out = append(out, checkProblem{"failing", s.Job, msg, fixFor(s.Job, st.LastErrorClass)})
		}
	}
	windows, err := a.db.MissingWindows(ctx, store.CoverageFilter{From: dayStart(now.In(a.cfg.MGID.Location).AddDate(0, 0, -(days - 1)))})
	if err != nil {
		return nil, err
	}
	type key struct {
		source string
		agency int64
	}
	counted := map[key]int{}
	var order []key
	first := map[key]time.Time{}
	for _, w := range windows {
		k := key{w.Source, w.AgencyID}
		if _, ok := counted[k]; !ok {
			order = append(order, k)
			first[k] = w.From
		}
		counted[k] += w.Days
	}
	for _, k := range order {
		n := counted[k]
		subject := fmt.Sprintf("%s agency %d", k.source, k.agency)
		msg := fmt.Sprintf("%d missing day%s in the last %d (from %s)", n, plural(n), days, first[k].Format(time.DateOnly))
		fix := "syncer backfill mgid-spend --gaps --from " + first[k].Format(time.DateOnly)
		if k.source == store.SourceMGIDBalances {
			fix = "a past balance cannot be read again: keep mgid-balances running (syncer jobs) so no new day is missed"
		}
		out = append(out, checkProblem{"missing_days", subject, msg, fix})
	}
	open, err := a.db.OpenTransferCounts(ctx)
	if err != nil {
		return nil, err
	}
	if n := int(open[string(store.TransferUnknown)]); n > 0 {
		out = append(out, checkProblem{"transfer", "mgid transfers", fmt.Sprintf("%d transfer%s may or may not have moved money", n, plural(n)),
			"syncer mgid transfers reconcile (once MGID answers); what it cannot settle: syncer mgid transfers resolve"})
	}
	return out, nil
}

// fixFor is the first thing to do about a job whose last run failed.
func fixFor(job, class string) string {
	switch class {
	case "auth":
		return "check the job's provider credentials (syncer config check), then syncer once " + job
	case "database":
		return "check that Postgres answers, then syncer once " + job
	}
	return "read the error in syncer jobs, then syncer once " + job
}

// dayStart is midnight UTC of t's calendar date (as bi.coverage's days are).
func dayStart(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}
