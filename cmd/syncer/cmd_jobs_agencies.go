package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"syncer/internal/store"
)

// printAgencies adds to `syncer jobs` the MGID agencies as units of work: a
// line per job with how many agencies are fresh, then every agency that is
// stale or whose latest unit failed, with its name, login and error, so the
// one agency that keeps failing is visible among a thousand fresh ones.
func printAgencies(w io.Writer, states []store.AgencyState, now time.Time) error {
	if len(states) == 0 {
		return nil
	}
	tallies := store.TallyAgencies(states)
	var bad []store.AgencyState
	fmt.Fprintln(w)
	for _, t := range tallies {
		fmt.Fprintf(w, "%s: %d of %d agencies fresh and succeeding\n", t.Job, t.Healthy, t.All)
		bad = append(bad, t.Unhealthy...)
	}
	if len(bad) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "JOB\tAGENCY\tLOGIN\tLAST OUTCOME\tFAILING SINCE\tLAST DATA\tERROR")
	for _, s := range bad {
		outcome, since, data, errText := "never run", "-", "never", ""
		if s.LastStatus != "" {
			outcome = s.LastStatus
		}
		if s.FailingSince != nil {
			since = s.FailingSince.Local().Format(time.DateTime)
		}
		if s.LastSuccessAt != nil {
			data = now.Sub(*s.LastSuccessAt).Round(time.Second).String() + " ago"
		}
		if s.Stale {
			data += " STALE"
		}
		if s.LastErrorClass != "" {
			errText = s.LastErrorClass + ": " + truncate(s.LastError, 60)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Job, s.Name, s.Login, outcome, since, data, errText)
	}
	return tw.Flush()
}
