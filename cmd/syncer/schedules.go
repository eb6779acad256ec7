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

// jobSchedules is jobs.Schedules, with a schedule it cannot read as a usage
// error (exit status 2).
func jobSchedules(cfg config.Config, now time.Time) ([]store.JobSchedule, error) {
	out, err := jobs.Schedules(cfg, now)
	if err != nil {
		return nil, usagef("%v", err)
	}
	return out, nil
}

// recordTimezone stores MGID_TIMEZONE for bi.coverage; every command that
// writes MGID days calls it first, so the days and the view agree.
func (a *app) recordTimezone(ctx context.Context) error {
	return a.db.SaveMGIDTimezone(ctx, a.cfg.MGID.Timezone)
}
