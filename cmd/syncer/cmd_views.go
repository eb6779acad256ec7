package main

import (
	"context"
	"fmt"
	"text/tabwriter"
)

// cmdViews prints each bi view with its row count: a quick look at what BI sees.
func cmdViews(ctx context.Context, e env, args []string) error {
	fs, path := newFlags("views", e)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	a, err := openForDatabase(ctx, e, *path)
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
	for _, c := range counts {
		fmt.Fprintf(tw, "%s\t%d\n", c.View, c.Rows)
	}
	return tw.Flush()
}
