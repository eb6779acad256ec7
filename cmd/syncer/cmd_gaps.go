package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"syncer/internal/store"
)

// cmdGaps lists the missing windows of bi.coverage: consecutive days a
// source has no data for, per agency.
func cmdGaps(ctx context.Context, e env, args []string) error {
	fs, path := newFlags("gaps", e)
	fromS := fs.String("from", "", "first day, YYYY-MM-DD (default: where each history starts)")
	toS := fs.String("to", "", "last day, YYYY-MM-DD (default: today)")
	source := fs.String("source", "", "only this source: "+store.SourceMGIDSpend+" or "+store.SourceMGIDBalances)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("gaps takes no arguments: syncer gaps [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--source SOURCE]")
	}
	f, err := coverageFilter(*fromS, *toS)
	if err != nil {
		return err
	}
	switch *source {
	case "", store.SourceMGIDSpend, store.SourceMGIDBalances:
		f.Source = *source
	default:
		return usagef("--source %q: want %s or %s", *source, store.SourceMGIDSpend, store.SourceMGIDBalances)
	}
	a, err := open(ctx, e, *path, needs{checks: checkReading})
	if err != nil {
		return err
	}
	defer a.close()
	windows, err := a.db.MissingWindows(ctx, f)
	if err != nil {
		return err
	}
	if len(windows) == 0 {
		fmt.Fprintln(e.stdout, "no missing days")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SOURCE\tAGENCY\tFROM\tTO\tDAYS")
	spend, balances := 0, 0
	for _, w := range windows {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%d\n", w.Source, w.AgencyID, w.From.Format(time.DateOnly), w.To.Format(time.DateOnly), w.Days)
		if w.Source == store.SourceMGIDSpend {
			spend += w.Days
		} else {
			balances += w.Days
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if spend > 0 {
		fmt.Fprintln(e.stdout, "\nfill the mgid-spend gaps with: syncer backfill mgid-spend --gaps")
	}
	if balances > 0 {
		fmt.Fprintln(e.stdout, "\nmgid-balances gaps stay: a past balance cannot be read again")
	}
	return nil
}

// coverageFilter parses optional --from/--to dates (exit 2 when bad).
func coverageFilter(fromS, toS string) (store.CoverageFilter, error) {
	var f store.CoverageFilter
	var err error
	if fromS != "" {
		if f.From, err = time.Parse(time.DateOnly, fromS); err != nil {
			return f, usagef("--from %q: want a date as YYYY-MM-DD", fromS)
		}
	}
	if toS != "" {
		if f.To, err = time.Parse(time.DateOnly, toS); err != nil {
			return f, usagef("--to %q: want a date as YYYY-MM-DD", toS)
		}
	}
	if !f.From.IsZero() && !f.To.IsZero() && f.To.Before(f.From) {
		return f, usagef("--to %s is before --from %s", toS, fromS)
	}
	return f, nil
}
