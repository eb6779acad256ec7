package main

import (
	"context"
	"time"

	"syncer/internal/config"
	"syncer/internal/jobs"
	"syncer/internal/store"
)

// recordSchedules stores every job's schedule and expected interval, and
// MGID_TIMEZONE, where bi.source_freshness and bi.coverage read them: the
// daemon's configuration is what "fresh" and "closed day" mean.
func (a *app) recordSchedules(ctx context.Context) error {
	out, err := jobSchedules(a.cfg, time.Now())
	if err != nil {
		return err
	}
	if err := a.db.SaveJobSchedules(ctx, a.runner.Replica, out); err != nil {
		return err
	}
	return a.recordTimezone(ctx)
}

// jobSchedules is every job's schedule with its longest tick gap and the
// interval fresh data is expected in: what the daemon records and what
// `syncer check` judges staleness by.
func jobSchedules(cfg config.Config, now time.Time) ([]store.JobSchedule, error) {
	var out []store.JobSchedule
	for _, spec := range config.Registry {
		n := spec.Name
		j := cfg.Jobs[n]
		tick, err := jobs.LongestGap(j.Schedule, now)
		if err != nil {
			return nil, usagef("%sSCHEDULE %q: %v", config.JobEnvPrefix(n), j.Schedule, err)
		}
		expected := tick
		// A tracked round checks only targets due again, so a target's
		// status is refreshed once per recheck period, not per tick.
		if spec.Recheck != nil {
			expected += spec.Recheck(cfg)
		}
		out = append(out, store.JobSchedule{Job: n, Schedule: j.Schedule, Enabled: j.Enabled,
			TickInterval: tick, ExpectedInterval: expected})
	}
	return out, nil
}

// recordTimezone stores MGID_TIMEZONE for bi.coverage; every command that
// writes MGID days calls it first, so the days and the view agree.
func (a *app) recordTimezone(ctx context.Context) error {
	return a.db.SaveMGIDTimezone(ctx, a.cfg.MGID.Timezone)
}
