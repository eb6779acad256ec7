package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"syncer/internal/config"
	"syncer/internal/jobs"
	"syncer/internal/store"
)

func cmdBackfill(ctx context.Context, e env, args []string) error {
	fs, path := newFlags("backfill", e)
	fromS := fs.String("from", "", "first day, YYYY-MM-DD")
	toS := fs.String("to", "", "last day, YYYY-MM-DD (inclusive)")
	gaps := fs.Bool("gaps", false, "run exactly the days `syncer gaps` lists missing (within --from/--to when given)")
	conc := fs.Int("concurrency", 0, "days in flight at once (default BACKFILL_CONCURRENCY)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("backfill takes one job: syncer backfill JOB --from YYYY-MM-DD --to YYYY-MM-DD, or JOB --gaps")
	}
	name := fs.Arg(0)
	if err := checkJobNames([]string{name}); err != nil {
		return err
	}
	if name != config.JobMGIDSpend {
		return usagef("job %q has no per-day history to backfill (backfill supports %s)", name, config.JobMGIDSpend)
	}
	var from, to time.Time
	var err error
	if *gaps {
		f, err := coverageFilter(*fromS, *toS)
		if err != nil {
			return err
		}
		from, to = f.From, f.To
	} else {
		if from, err = time.Parse(time.DateOnly, *fromS); err != nil {
			return usagef("--from %q: want a date as YYYY-MM-DD (or --gaps)", *fromS)
		}
		if to, err = time.Parse(time.DateOnly, *toS); err != nil {
			return usagef("--to %q: want a date as YYYY-MM-DD", *toS)
		}
		if to.Before(from) {
			return usagef("--to %s is before --from %s", *toS, *fromS)
		}
	}
	if *conc < 0 || *conc > 64 {
		return usagef("--concurrency %d: want 1..64", *conc)
	}
	cfg, err := load(e, *path, needs{enable: []string{name}})
	if err != nil {
		return err
	}
	if *conc == 0 {
		*conc = cfg.Backfill.Concurrency
	}
	a, err := openConfig(ctx, e, cfg, needs{conns: *conc})
	if err != nil {
		return err
	}
	defer a.close()
	// Coverage reads the days in the zone this run writes them in.
	if err := a.recordTimezone(ctx); err != nil {
		return err
	}
	built, err := a.buildJobs(name)
	if err != nil {
		return err
	}
	job := built[name].(jobs.DayJob)
	b := &jobs.Backfill{Store: a.db, Runner: a.runner, Concurrency: *conc, Progress: newProgress(e.stdout),
		DayTimeout: cfg.Jobs[name].Timeout}
	start := time.Now()
	var res jobs.BackfillResult
	var runErr error
	span := *fromS + ".." + *toS
	if *gaps {
		days, err := a.db.MissingDays(ctx, store.CoverageFilter{Source: store.SourceMGIDSpend, From: from, To: to})
		if err != nil {
			return err
		}
		if len(days) == 0 {
			fmt.Fprintf(e.stdout, "%s: no missing days to fill\n", name)
			return nil
		}
		span = fmt.Sprintf("gaps (%d days, %s..%s)", len(days), days[0].Format(time.DateOnly), days[len(days)-1].Format(time.DateOnly))
		res, runErr = b.RunDays(ctx, job, days)
	} else {
		res, runErr = b.Run(ctx, job, from, to)
	}
	took := time.Since(start)
	// Each backfill reports what it did itself: days a concurrent one
	// took are counted apart, not as done here.
	fmt.Fprintf(e.stdout, "%s backfill %s: %d days done, %d already done, %d done by another backfill, %d failed, %d rows in %s (%.1f days/s, %.0f rows/s)\n",
		name, span, res.Days, res.Skipped, res.ClaimedElsewhere, res.Failed, res.Rows, took.Round(time.Millisecond),
		float64(res.Days)/took.Seconds(), float64(res.Rows)/took.Seconds())
	return runErr
}

// progress draws a bar on a terminal and plain lines elsewhere (logs, CI).
type progress struct {
	w           io.Writer
	tty         bool
	mu          sync.Mutex
	total, done int
	rows        int64
	start       time.Time
}

func newProgress(w io.Writer) *progress {
	tty := false
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	return &progress{w: w, tty: tty, start: time.Now()}
}

func (p *progress) Start(total, alreadyDone int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.total, p.done = total, alreadyDone
	if !p.tty {
		fmt.Fprintf(p.w, "backfill: %d days, %d already done\n", total, alreadyDone)
	}
}

func (p *progress) Day(day time.Time, rows int64, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	p.rows += rows
	if !p.tty {
		status := "ok"
		if errors.Is(err, jobs.ErrClaimedElsewhere) {
			status = "skipped: " + err.Error()
		} else if err != nil {
			status = "failed: " + err.Error()
		}
		fmt.Fprintf(p.w, "backfill: %s %s, %d rows (%d/%d)\n", day.Format(time.DateOnly), status, rows, p.done, p.total)
		return
	}
	const width = 30
	filled := width * p.done / max(1, p.total)
	rate := float64(p.rows) / time.Since(p.start).Seconds()
	fmt.Fprintf(p.w, "\r[%s%s] %d/%d days  %.0f rows/s ", strings.Repeat("#", filled), strings.Repeat(".", width-filled), p.done, p.total, rate)
	if p.done == p.total {
		fmt.Fprintln(p.w)
	}
	if err != nil && !errors.Is(err, jobs.ErrClaimedElsewhere) {
		fmt.Fprintf(p.w, "\n%s failed: %v\n", day.Format(time.DateOnly), err)
	}
}
