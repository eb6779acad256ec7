package main

import (
	"context"
	"fmt"

	"syncer/internal/jobs"
)

func cmdOnce(ctx context.Context, e env, args []string) error {
	fs, path := newFlags("once", e)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	names := fs.Args()
	if len(names) == 0 {
		return usagef("once needs at least one job name")
	}
	if err := checkJobNames(names); err != nil {
		return err
	}
	a, err := open(ctx, e, *path, needs{enable: names})
	if err != nil {
		return err
	}
	defer a.close()
	if err := a.recordTimezone(ctx); err != nil {
		return err
	}
	built, err := a.buildJobs(names...)
	if err != nil {
		return err
	}
	failed := false
	for _, n := range names {
		res := a.runner.Execute(ctx, built[n], jobs.Options{Trigger: jobs.TriggerManual, Timeout: a.cfg.Jobs[n].Timeout})
		switch res.Status {
		case jobs.StatusSucceeded:
			fmt.Fprintf(e.stdout, "%s: succeeded, %d rows (run %d)\n", n, res.Rows, res.RunID)
		case jobs.StatusSkipped:
			failed = true
			fmt.Fprintf(e.stdout, "%s: not run: it is running in another process\n", n)
		default:
			failed = true
			fmt.Fprintf(e.stdout, "%s: %s (run %d): %v\n", n, res.Status, res.RunID, res.Err)
		}
		if ctx.Err() != nil {
			break
		}
	}
	if failed {
		return errSilentFailure
	}
	return nil
}
