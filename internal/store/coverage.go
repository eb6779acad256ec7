package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Coverage sources: the day-keyed histories bi.coverage reports on.
const (
	SourceMGIDSpend    = "mgid-spend"
	SourceMGIDBalances = "mgid-balances"
)

// Coverage states of a source's day.
const (
	CoverageObserved    = "observed"    // read after the day closed (MGID_TIMEZONE)
	CoverageProvisional = "provisional" // the day is open, or was read only while open
	CoverageRestated    = "restated"    // a value changed after the day closed
	CoverageMissing     = "missing"     // never read
)

// CoverageDay is one row of bi.coverage.
type CoverageDay struct {
	Source         string
	AgencyID       int64
	Day            time.Time // the calendar date, at midnight UTC
	State          string    // one of the Coverage* states
	LastObservedAt *time.Time
}

// Coverage returns bi.coverage for the days from..to (inclusive), ordered
// by source, agency and day.
func (db *DB) Coverage(ctx context.Context, from, to time.Time) ([]CoverageDay, error) {
	rows, err := db.query(ctx, `
		SELECT source, agency_id, day, state, last_observed_at
		FROM bi.coverage WHERE day BETWEEN $1 AND $2
		ORDER BY source, agency_id, day`, pgDate(from), pgDate(to))
	if err != nil {
		return nil, fmt.Errorf("coverage: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (CoverageDay, error) {
		var d CoverageDay
		err := r.Scan(&d.Source, &d.AgencyID, &d.Day, &d.State, &d.LastObservedAt)
		return d, err
	})
	if err != nil {
		return nil, fmt.Errorf("coverage: %w", err)
	}
	return out, nil
}

// MissingWindow is a run of consecutive missing days of one source and agency.
type MissingWindow struct {
	Source   string
	AgencyID int64
	From, To time.Time // inclusive dates, at midnight UTC
	Days     int
}

// CoverageFilter narrows a coverage query; zero fields do not filter.
type CoverageFilter struct {
	Source   string
	From, To time.Time
}

// MissingWindows lists the missing days of bi.coverage merged into windows,
// ordered by source, agency and first day.
func (db *DB) MissingWindows(ctx context.Context, f CoverageFilter) ([]MissingWindow, error) {
	// Consecutive days share day - row_number: the classic gaps-and-islands.
	rows, err := db.query(ctx, `
		WITH missing AS (
		    SELECT source, agency_id, day,
		           day - (row_number() OVER (PARTITION BY source, agency_id ORDER BY day))::int AS island
		    FROM bi.coverage
		    WHERE state = 'missing'
		      AND ($1 = '' OR source = $1)
		      AND ($2::date IS NULL OR day >= $2::date)
		      AND ($3::date IS NULL OR day <= $3::date)
		)
		SELECT source, agency_id, min(day), max(day), count(*)::int
		FROM missing GROUP BY source, agency_id, island
		ORDER BY source, agency_id, min(day)`, f.Source, optDate(f.From), optDate(f.To))
	if err != nil {
		return nil, fmt.Errorf("missing coverage windows: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (MissingWindow, error) {
		var w MissingWindow
		err := r.Scan(&w.Source, &w.AgencyID, &w.From, &w.To, &w.Days)
		return w, err
	})
	if err != nil {
		return nil, fmt.Errorf("missing coverage windows: %w", err)
	}
	return out, nil
}

// MissingDays is the distinct days on which any agency misses source,
// ascending: what a backfill must run to close every gap.
func (db *DB) MissingDays(ctx context.Context, f CoverageFilter) ([]time.Time, error) {
	rows, err := db.query(ctx, `
		SELECT DISTINCT day FROM bi.coverage
		WHERE state = 'missing'
		  AND ($1 = '' OR source = $1)
		  AND ($2::date IS NULL OR day >= $2::date)
		  AND ($3::date IS NULL OR day <= $3::date)
		ORDER BY day`, f.Source, optDate(f.From), optDate(f.To))
	if err != nil {
		return nil, fmt.Errorf("missing coverage days: %w", err)
	}
	days, err := pgx.CollectRows(rows, pgx.RowTo[time.Time])
	if err != nil {
		return nil, fmt.Errorf("missing coverage days: %w", err)
	}
	return days, nil
}

// SpendFetch is one agency's spend day that a run read from MGID, whether
// or not any client spent that day.
type SpendFetch struct {
	AgencyID int64
	Day      time.Time
}

// RecordSpendFetches marks the days as read at `at`, in the same
// transaction as their spend rows, so coverage never claims a day whose
// data did not commit.
func (db *DB) RecordSpendFetches(ctx context.Context, runID int64, at time.Time, fetched []SpendFetch) error {
	if len(fetched) == 0 {
		return nil
	}
	agencies := make([]int64, len(fetched))
	days := make([]string, len(fetched))
	for i, f := range fetched {
		agencies[i], days[i] = f.AgencyID, pgDate(f.Day)
	}
	_, err := db.exec(ctx, `
		INSERT INTO syncer.mgid_spend_fetches AS f (agency_id, spend_date, first_fetched_at, last_fetched_at, run_id)
		SELECT DISTINCT agency_id, spend_date, $3::timestamptz, $3::timestamptz, $4::bigint
		FROM unnest($1::bigint[], $2::date[]) AS v(agency_id, spend_date)
		ORDER BY agency_id, spend_date -- one lock order for every writer: no deadlock between two
		ON CONFLICT (agency_id, spend_date) DO UPDATE
		SET last_fetched_at = greatest(f.last_fetched_at, excluded.last_fetched_at),
		    fetches = f.fetches + 1, run_id = excluded.run_id`,
		agencies, days, at, runID)
	if err != nil {
		return fmt.Errorf("record spend fetches: %w", err)
	}
	return nil
}

// SaveMGIDTimezone records the zone whose calendar days MGID reports in
// (MGID_TIMEZONE), which bi.coverage needs to tell when a day has closed.
// Postgres must know the zone too, or every read of the view would fail.
func (db *DB) SaveMGIDTimezone(ctx context.Context, tz string) error {
	if _, err := db.exec(ctx, `SELECT now() AT TIME ZONE $1`, tz); err != nil {
		return fmt.Errorf("MGID_TIMEZONE %q is not a time zone this Postgres server knows: %w", tz, err)
	}
	return db.SetSetting(ctx, SettingMGIDTimezone, tz)
}

// optDate is a date parameter, NULL for the zero time.
func optDate(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return pgDate(t)
}
