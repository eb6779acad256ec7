package store

import (
	"context"
	"fmt"
	"time"
)

// JobSchedule is a job's schedule as a daemon started with it. Schedules
// live in configuration; the daemon records them so that SQL (and every BI
// tool) can tell how fresh each source ought to be.
type JobSchedule struct {
	Job      string
	Schedule string
	Enabled  bool
	// TickInterval is the longest gap between two ticks of the schedule.
	TickInterval time.Duration
	// ExpectedInterval is how often fresh provider data should arrive:
	// TickInterval, plus the recheck period for tracked checks.
	ExpectedInterval time.Duration
}

// StaleAfter is how long after its last success the job's data is stale: a
// tick late on top of the expected interval, as bi.source_freshness judges
// (its stale_after column).
func (s JobSchedule) StaleAfter() time.Duration { return s.ExpectedInterval + s.TickInterval }

// SaveJobSchedules upserts the schedules; by names the replica that did.
func (db *DB) SaveJobSchedules(ctx context.Context, by string, schedules []JobSchedule) error {
	var (
		jobs, specs     []string
		enabled         []bool
		ticks, expected []int64
	)
	for _, s := range schedules {
		jobs = append(jobs, s.Job)
		specs = append(specs, s.Schedule)
		enabled = append(enabled, s.Enabled)
		ticks = append(ticks, s.TickInterval.Microseconds())
		expected = append(expected, s.ExpectedInterval.Microseconds())
	}
	_, err := db.exec(ctx, `
		INSERT INTO syncer.job_schedules AS s (job, schedule, enabled, tick_interval, expected_interval, recorded_at, recorded_by)
		SELECT job, schedule, enabled, tick * interval '1 microsecond', expected * interval '1 microsecond', now(), $6
		FROM unnest($1::text[], $2::text[], $3::boolean[], $4::bigint[], $5::bigint[]) AS v(job, schedule, enabled, tick, expected)
		ON CONFLICT (job) DO UPDATE
		SET schedule = excluded.schedule, enabled = excluded.enabled, tick_interval = excluded.tick_interval,
		    expected_interval = excluded.expected_interval, recorded_at = excluded.recorded_at,
		    recorded_by = excluded.recorded_by`,
		jobs, specs, enabled, ticks, expected, by)
	if err != nil {
		return fmt.Errorf("record job schedules: %w", err)
	}
	return nil
}

// SourceFreshness is one row of bi.source_freshness.
type SourceFreshness struct {
	Job string
	// Scheduled: a daemon recorded the job's schedule. Without it Schedule
	// is "", Enabled false and the intervals 0 (unknown).
	Scheduled bool
	Schedule  string
	Enabled   bool
	// LastSuccessAt is the end of the latest successful live run that read
	// provider data; nil if none ever did. Age is 0 then.
	LastSuccessAt    *time.Time
	Age              time.Duration
	ExpectedInterval time.Duration
	StaleAfter       time.Duration
	// Stale: an enabled job that never read data, or whose Age exceeds StaleAfter.
	Stale bool
}

// SourceFreshness reads bi.source_freshness, ordered by job.
func (db *DB) SourceFreshness(ctx context.Context) ([]SourceFreshness, error) {
	rows, err := db.query(ctx, `
		SELECT job, enabled IS NOT NULL, coalesce(schedule, ''), coalesce(enabled, false), last_success_at,
		       coalesce(`+micros("age")+`, 0), coalesce(`+micros("expected_interval")+`, 0),
		       coalesce(`+micros("stale_after")+`, 0), stale
		FROM bi.source_freshness ORDER BY job`)
	if err != nil {
		return nil, fmt.Errorf("source freshness: %w", err)
	}
	defer rows.Close()
	var out []SourceFreshness
	for rows.Next() {
		var f SourceFreshness
		var age, expected, staleAfter int64
		if err := rows.Scan(&f.Job, &f.Scheduled, &f.Schedule, &f.Enabled, &f.LastSuccessAt,
			&age, &expected, &staleAfter, &f.Stale); err != nil {
			return nil, fmt.Errorf("source freshness: %w", err)
		}
		f.Age = time.Duration(age) * time.Microsecond
		f.ExpectedInterval = time.Duration(expected) * time.Microsecond
		f.StaleAfter = time.Duration(staleAfter) * time.Microsecond
		out = append(out, f)
	}
	return out, rows.Err()
}

// micros is an interval column as whole microseconds: exact, and free of
// the month and day parts a Go duration cannot hold.
func micros(col string) string {
	return "(extract(epoch FROM " + col + ") * 1000000)::bigint"
}
