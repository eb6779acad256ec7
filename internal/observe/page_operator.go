package observe

import (
	"fmt"
	"time"

	"syncer/internal/store"
)

// What the page adds so an operator sees the truth rather than a green
// badge: how long a job has been failing, its recent outcomes, and tracked
// targets that nothing is checking.

type stripCell struct {
	X     int
	Class string // good, bad, warn (cancelled)
	Title string
}

// stripPitch is the width of one outcome in the strip's viewBox.
const stripPitch = 8

// addStreaks puts each job's failure streak and recent outcomes on its row.
func (p *Page) addStreaks(now time.Time, rows []jobRow, streaks map[string]store.RunStreak) {
	for i := range rows {
		s, ok := streaks[rows[i].Name]
		if !ok {
			continue
		}
		if s.Failing > 0 && s.FailingSince != nil && rows[i].Enabled {
			rows[i].Failing = fmt.Sprintf("failing since %s, %d run%s in a row", p.when(now, *s.FailingSince), s.Failing, plural(int(s.Failing)))
		}
		// Oldest on the left, newest on the right, as a timeline reads.
		n := len(s.Recent)
		for k := range n {
			status := s.Recent[n-1-k]
			rows[i].Strip = append(rows[i].Strip, stripCell{X: (store.RecentOutcomes - n + k) * stripPitch, Class: statusClass(status),
				Title: fmt.Sprintf("%s: run %d of the last %d", status, k+1, n)})
		}
	}
}

// trackedJobs maps a tracked kind to the job that checks it.
var trackedJobs = map[string]string{string(store.TrackedMawthoq): "mawthoq-recheck", string(store.TrackedFirstlight): "firstlight-redeem"}

// warnUncheckedTargets warns (amber) when active targets of a kind are
// tracked but their job is disabled or overdue: their status is not being
// refreshed, and nothing else would say so.
func (p *Page) warnUncheckedTargets(tracked []store.TrackedOutcome, fresh []store.SourceFreshness, d *pageData) {
	targets := map[string]int64{}
	var kinds []string
	for _, t := range tracked {
		if _, ok := targets[string(t.Kind)]; !ok {
			kinds = append(kinds, string(t.Kind))
		}
		targets[string(t.Kind)] += t.Targets
	}
	enabled := map[string]bool{}
	known := map[string]bool{}
	for _, j := range p.Jobs {
		enabled[j.Name], known[j.Name] = j.Enabled, true
	}
	stale := map[string]store.SourceFreshness{}
	for _, f := range fresh {
		stale[f.Job] = f
	}
	for _, kind := range kinds {
		job, ok := trackedJobs[kind]
		n := targets[kind]
		if !ok || n == 0 || !known[job] {
			continue
		}
		switch f := stale[job]; {
		case !enabled[job]:
			d.Warnings = append(d.Warnings, fmt.Sprintf("%d %s target%s tracked, but %s is disabled: nothing checks them (set %s_ENABLED=true).",
				n, kind, plural(int(n)), job, envName(job)))
		case f.Stale:
			last := "never"
			if f.LastSuccessAt != nil {
				last = agoOrNever(f.Age)
			}
			d.Warnings = append(d.Warnings, fmt.Sprintf("%d %s target%s tracked, but %s is overdue (last data %s): their status is not being refreshed.",
				n, kind, plural(int(n)), job, last))
		}
	}
}

// envName is a job's JOB_<NAME> prefix, for a message's fix.
func envName(job string) string {
	b := []byte("JOB_" + job)
	for i, c := range b {
		switch {
		case c == '-':
			b[i] = '_'
		case c >= 'a' && c <= 'z':
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}
