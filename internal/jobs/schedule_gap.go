package jobs

import (
	"fmt"
	"time"

	"syncer/internal/config"
	"syncer/internal/store"
)

// LongestGap is the longest time between two consecutive ticks of the
// schedule spec over the year from now: "0 9 * * 1-5" waits 3 days from
// Friday to Monday, and a source it feeds is not stale over a weekend. It
// looks at no more than 20000 ticks, a fortnight of a once-a-minute job.
func LongestGap(spec string, now time.Time) (time.Duration, error) {
	sched, err := ParseSchedule(spec)
	if err != nil {
		return 0, err
	}
	end := now.AddDate(1, 0, 0)
	var longest time.Duration
	prev := sched.Next(now)
	for i := 0; i < 20000 && !prev.IsZero() && prev.Before(end); i++ {
		next := sched.Next(prev)
		if next.IsZero() {
			break
		}
		longest = max(longest, next.Sub(prev))
		prev = next
	}
	return longest, nil
}

// Schedules is every registered job's schedule with its longest tick gap and
// the interval its fresh data is expected in: what the daemon records for
// bi.source_freshness and what `syncer check` judges staleness by. A tracked
// round checks only targets due again, so a target's status is refreshed once
// per recheck period plus a tick, not once per tick.
func Schedules(cfg config.Config, now time.Time) ([]store.JobSchedule, error) {
	var out []store.JobSchedule
	for _, spec := range config.Registry {
		n := spec.Name
		j := cfg.Jobs[n]
		tick, err := LongestGap(j.Schedule, now)
		if err != nil {
			return nil, fmt.Errorf("%sSCHEDULE %q: %w", config.JobEnvPrefix(n), j.Schedule, err)
		}
		expected := tick
		if spec.Recheck != nil {
			expected += spec.Recheck(cfg)
		}
		out = append(out, store.JobSchedule{Job: n, Schedule: j.Schedule, Enabled: j.Enabled,
			TickInterval: tick, ExpectedInterval: expected})
	}
	return out, nil
}
