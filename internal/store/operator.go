package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Reads for what an operator and a script look at beyond the latest run:
// how long a job has been failing, its recent outcomes, and the coverage
// gaps as counts (syncer check, the status page, /metrics).

// RecentOutcomes is how many runs it keeps per job for the page's strip.
const RecentOutcomes = 20

// RunStreak is a job's recent record. Backfill days are left out: they say
// how a past day went, not how the job is doing now.
type RunStreak struct {
	// Failing is the number of failed runs since the last success (all of
	// them if it never succeeded); FailingSince is the start of the first.
	Failing      int64
	FailingSince *time.Time
	// LastErrorClass and LastError are the latest failed run's, when Failing > 0.
	LastErrorClass, LastError string
	// Recent is the statuses of the latest finished runs, newest first, at
	// most RecentOutcomes.
	Recent []string
}

// RunStreaks returns each job's streak of failures and recent outcomes.
func (db *DB) RunStreaks(ctx context.Context) (map[string]RunStreak, error) {
	rows, err := db.query(ctx, `
		WITH RECURSIVE jobs AS (
		    (SELECT job FROM syncer.runs ORDER BY job LIMIT 1)
		    UNION ALL
		    SELECT (SELECT r.job FROM syncer.runs r WHERE r.job > jobs.job ORDER BY r.job LIMIT 1)
		    FROM jobs WHERE jobs.job IS NOT NULL
		)
		SELECT jobs.job, coalesce(recent.statuses, '{}'), streak.n, streak.since,
		       coalesce(lf.error_class, ''), coalesce(lf.error_message, '')
		FROM jobs
		CROSS JOIN LATERAL (
		    SELECT array_agg(x.status ORDER BY x.started_at DESC, x.id DESC) AS statuses
		    FROM (SELECT r.status, r.started_at, r.id FROM syncer.runs r
		          WHERE r.job = jobs.job AND r.status <> 'running' AND r.trigger <> 'backfill'
		          ORDER BY r.started_at DESC, r.id DESC LIMIT $1) x
		) recent
		CROSS JOIN LATERAL (
		    SELECT count(*) AS n, min(r.started_at) AS since FROM syncer.runs r
		    WHERE r.job = jobs.job AND r.status = 'failed' AND r.trigger <> 'backfill'
		      AND r.started_at > coalesce((
		          SELECT max(o.started_at) FROM syncer.runs o
		          WHERE o.job = jobs.job AND o.status = 'succeeded' AND o.trigger <> 'backfill'), '-infinity')
		) streak
		LEFT JOIN LATERAL (
		    SELECT r.error_class, r.error_message FROM syncer.runs r
		    WHERE r.job = jobs.job AND r.status = 'failed' AND r.trigger <> 'backfill' AND streak.n > 0
		    ORDER BY r.started_at DESC, r.id DESC LIMIT 1
		) lf ON true
		WHERE jobs.job IS NOT NULL`, RecentOutcomes)
	if err != nil {
		return nil, fmt.Errorf("run streaks: %w", err)
	}
	defer rows.Close()
	out := map[string]RunStreak{}
	for rows.Next() {
		var job string
		var s RunStreak
		if err := rows.Scan(&job, &s.Recent, &s.Failing, &s.FailingSince, &s.LastErrorClass, &s.LastError); err != nil {
			return nil, fmt.Errorf("run streaks: %w", err)
		}
		out[job] = s
	}
	return out, rows.Err()
}

// MissingCoverage is how many days of the last 7 and the last 60 (today
// included, in MGID_TIMEZONE) bi.coverage has missing for a source and agency.
type MissingCoverage struct {
	Source   string
	AgencyID int64
	Last7    int64
	Last60   int64
}

// MissingCoverageCounts counts the missing days of bi.coverage per source
// and agency over the last 7 and 60 days. Every source and agency with
// coverage in that window is listed, zero or not, so a gauge goes back to 0.
func (db *DB) MissingCoverageCounts(ctx context.Context) ([]MissingCoverage, error) {
	rows, err := db.query(ctx, `
		WITH today AS (
		    SELECT (now() AT TIME ZONE coalesce(
		        (SELECT value FROM syncer.settings WHERE key = 'mgid_timezone'), 'UTC'))::date AS d
		)
		SELECT c.source, c.agency_id,
		       count(*) FILTER (WHERE c.state = 'missing' AND c.day > t.d - 7),
		       count(*) FILTER (WHERE c.state = 'missing')
		FROM bi.coverage c CROSS JOIN today t
		WHERE c.day > t.d - 60
		GROUP BY 1, 2 ORDER BY 1, 2`)
	if err != nil {
		return nil, fmt.Errorf("missing coverage: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (MissingCoverage, error) {
		var m MissingCoverage
		err := r.Scan(&m.Source, &m.AgencyID, &m.Last7, &m.Last60)
		return m, err
	})
	if err != nil {
		return nil, fmt.Errorf("missing coverage: %w", err)
	}
	return out, nil
}
