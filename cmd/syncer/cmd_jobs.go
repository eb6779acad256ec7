package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"syncer/internal/config"
	"syncer/internal/jobs"
)

func cmdJobs(ctx context.Context, e env, args []string) error {
	fs, path := newFlags("jobs", e)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	a, err := loadAndOpen(ctx, e, *path)
	if err != nil {
		return err
	}
	defer a.close()
	last, err := a.db.LastRuns(ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "JOB\tENABLED\tSCHEDULE\tNEXT RUN\tLAST RUN\tOUTCOME\tROWS\tERROR")
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
		fmt.Fprintf(tw, "%s\t%v\t%s\t%s\t%s\t%s\t%s\t%s\n", n, j.Enabled, j.Schedule, next, lastAt, outcome, rows, errText)
	}
	return tw.Flush()
}

// truncate keeps the first n characters (whole ones) and marks the cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}
