package main

import (
	"context"
	"fmt"
	"text/tabwriter"
)

// cmdViews prints each bi view with its row count: a quick look at what BI
// sees. A view whose count would take seconds (the per-snapshot history of
// a big install) shows the planner's estimate, marked with ~.
func cmdViews(ctx context.Context, e env, args []string) error {
	fs, path := newFlags("views", e)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	a, err := open(ctx, e, *path, needs{checks: checkNoJobs})
	if err != nil {
		return err
	}
	defer a.close()
	counts, err := a.db.BIViewCounts(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VIEW\tROWS")
	estimated := false
	for _, c := range counts {
		if c.Estimated {
			estimated = true
			fmt.Fprintf(tw, "%s\t~%d\n", c.View, c.Rows)
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\n", c.View, c.Rows)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if estimated {
		fmt.Fprintln(e.stdout, "~ the planner's estimate: counting that view exactly would take seconds")
	}
	return nil
}
