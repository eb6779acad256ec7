package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"syncer/internal/config"
	"syncer/internal/jobs"
	"syncer/internal/store"
)

func cmdJobs(ctx context.Context, e env, args []string) error {
	fs, path := newFlags("jobs", e)
	asJSON := fs.Bool("json", false, "print one JSON document instead of the table")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("jobs takes no arguments: syncer jobs [--json]")
	}
	// Only the database and the schedules: no provider credentials needed.
	a, err := open(ctx, e, *path, needs{checks: checkReading})
	if err != nil {
		return err
	}
	defer a.close()
	last, err := a.db.LatestRuns(ctx)
	if err != nil {
		return err
	}
	fresh, err := a.db.SourceFreshness(ctx)
	if err != nil {
		return err
	}
	freshness := map[string]store.SourceFreshness{}
	for _, f := range fresh {
		freshness[f.Job] = f
	}
	now := time.Now()
	if *asJSON {
		return writeJobsJSON(e, a.cfg, now, last, freshness)
	}
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "JOB\tENABLED\tSCHEDULE\tNEXT RUN\tLAST RUN\tOUTCOME\tROWS\tLAST DATA\tERROR")
	for _, n := range config.JobNames {
		j := a.cfg.Jobs[n]
		next := "-"
		if j.Enabled {
			if s, err := jobs.ParseSchedule(j.Schedule); err == nil {
				next = s.Next(now).Local().Format(time.DateTime)
			}
		}
		lastAt, outcome, rows, errText := "never", "-", "-", ""
		if r, ok := last[n]; ok {
			lastAt = r.StartedAt.Local().Format(time.DateTime)
			outcome = r.Status
			if r.Trigger != "schedule" {
				outcome += " (" + r.Trigger + ")"
			}
			rows = fmt.Sprint(r.Rows)
			if r.ErrorClass != "" {
				errText = r.ErrorClass + ": " + truncate(r.Error, 60)
			}
		}
		fmt.Fprintf(tw, "%s\t%v\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", n, j.Enabled, j.Schedule, next, lastAt, outcome, rows,
			lastData(freshness[n], j.Enabled), errText)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	agencies, err := a.db.AgencyStates(ctx)
	if err != nil {
		return err
	}
	return printAgencies(e.stdout, agencies, now)
}

// lastData is how long ago the job last read provider data in a live run
// (bi.source_freshness), marked STALE as the view judges it. A job the view
// does not list yet has never read any: stale if it is enabled here.
func lastData(f store.SourceFreshness, enabled bool) string {
	s := "never"
	if f.LastSuccessAt != nil {
		s = f.Age.Round(time.Second).String() + " ago"
	}
	if f.Stale || (f.Job == "" && enabled) {
		s += " STALE"
	}
	return s
}

// truncate keeps the first n characters (whole ones) and marks the cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}
