package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// AgencyRef names an MGID agency as configured: its name and login.
type AgencyRef struct {
	Name, Login string
}

// AgencyClaim asks for the next agency of a job's tick.
type AgencyClaim struct {
	Job     string
	Logins  []string  // the agencies this process can do (its configuration)
	Tick    time.Time // the cron tick; a manual or catch-up run uses its start
	RunID   int64
	Replica string
	Lease   time.Duration // how long the claim holds if its replica dies
}

// ErrClaimLost: the agency's claim is no longer this run's (its lease ran
// out and another run took the agency), so this run must not commit it.
var ErrClaimLost = errors.New("the agency's claim was taken over by another run; nothing of it was committed")

// RegisterAgencies makes sure every configured agency of job has a claim row,
// keeps its configured name current, and drops the rows of agencies no
// longer configured (unless in flight), so bi.agency_freshness does not show
// an agency removed from the configuration as stale forever. Replicas are
// expected to share one configuration.
func (db *DB) RegisterAgencies(ctx context.Context, job string, agencies []AgencyRef) error {
	names := make([]string, len(agencies))
	logins := make([]string, len(agencies))
	for i, a := range agencies {
		names[i], logins[i] = a.Name, a.Login
	}
	_, err := db.exec(ctx, `
		INSERT INTO syncer.agency_claims (job, login, name)
		SELECT $1, l, n FROM unnest($2::text[], $3::text[]) AS u(l, n)
		ON CONFLICT (job, login) DO UPDATE SET name = excluded.name
		WHERE agency_claims.name IS DISTINCT FROM excluded.name`,
		job, logins, names)
	if err != nil {
		return fmt.Errorf("register %s agencies: %w", job, err)
	}
	_, err = db.exec(ctx, `
		DELETE FROM syncer.agency_claims WHERE job = $1 AND NOT (login = ANY($2)) AND done`, job, logins)
	if err != nil {
		return fmt.Errorf("forget removed %s agencies: %w", job, err)
	}
	return nil
}

// ClaimAgency takes the next agency of c.Tick not yet taken for it: one whose
// last tick is earlier and which is not in flight, or one taken for this
// very tick by a run that stopped before it finished. A claim is in flight
// while it has not ended, its lease holds and its run is still running: a
// run marked abandoned (its process was killed) frees its agencies at once,
// without waiting out the lease. SKIP LOCKED lets replicas claim at once
// without waiting on each other. ok is false when none is left.
func (db *DB) ClaimAgency(ctx context.Context, c AgencyClaim) (login string, ok bool, err error) {
	err = db.queryRow(ctx, `
		WITH next AS MATERIALIZED (
		    SELECT job, login FROM syncer.agency_claims
		    WHERE job = $1 AND login = ANY($2)
		      AND (tick IS NULL OR tick < $3 OR NOT done)
		      AND (done OR NOT `+claimLive+`)
		      AND (tick IS DISTINCT FROM $3 OR NOT done)
		    ORDER BY login
		    LIMIT 1
		    FOR UPDATE SKIP LOCKED
		)
		UPDATE syncer.agency_claims
		SET tick = $3, run_id = $4, claimed_by = $5, lease_until = now() + $6::interval, done = false
		FROM next WHERE agency_claims.job = next.job AND agency_claims.login = next.login
		RETURNING agency_claims.login`,
		c.Job, c.Logins, c.Tick, c.RunID, c.Replica, c.Lease).Scan(&login)
	if errors.Is(err, ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("claim a %s agency: %w", c.Job, err)
	}
	return login, true, nil
}

// claimLive is true for a claim row (agency_claims) whose lease holds and
// whose run is still running.
const claimLive = `(agency_claims.lease_until > now()
	AND EXISTS (SELECT 1 FROM syncer.runs r WHERE r.id = agency_claims.run_id AND r.status = 'running'))`

// InFlightElsewhere counts the job's agencies among logins that an earlier
// tick still holds: claimed, not finished, lease alive. A tick that finds
// some could not take them: the earlier tick overran this one.
func (db *DB) InFlightElsewhere(ctx context.Context, job string, logins []string, tick time.Time) (n int64, oldest *time.Time, err error) {
	err = db.queryRow(ctx, `
		SELECT count(*), min(tick) FROM syncer.agency_claims
		WHERE job = $1 AND login = ANY($2) AND tick < $3 AND NOT done AND `+claimLive,
		job, logins, tick).Scan(&n, &oldest)
	if err != nil {
		return 0, nil, fmt.Errorf("%s agencies still in flight: %w", job, err)
	}
	return n, oldest, nil
}

// AgencyOutcome is how one agency's unit of work ended.
type AgencyOutcome struct {
	RunID        int64
	Job          string
	Agency       AgencyRef
	AgencyID     int64 // 0 when MGID never told it
	WindowDate   *time.Time
	Tick         *time.Time // the tick the agency was claimed for; nil in a backfill day
	Status       string     // succeeded, failed, cancelled
	StartedAt    time.Time
	RowsWritten  int64
	ErrorClass   string
	ErrorMessage string
	Observed     bool
}

// RecordAgencyOutcome stores how an agency's unit ended. For a success call
// it on the agency's transaction, so the outcome commits with the data; for
// a failure, on the pool after the rollback. finished_at is the clock's time,
// not now(): on the agency's transaction now() is when it began, before the
// fetch and the write.
func (db *DB) RecordAgencyOutcome(ctx context.Context, o AgencyOutcome) error {
	var agencyID *int64
	if o.AgencyID != 0 {
		agencyID = &o.AgencyID
	}
	_, err := db.exec(ctx, `
		INSERT INTO syncer.agency_runs (run_id, job, agency_name, agency_login, agency_id, window_date,
		    status, started_at, finished_at, rows_written, error_class, error_message, observed, tick)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, clock_timestamp(), $9, NULLIF($10, ''), NULLIF($11, ''), $12 AND $7 = 'succeeded', $13)`,
		o.RunID, o.Job, o.Agency.Name, o.Agency.Login, agencyID, dateArg(o.WindowDate),
		o.Status, o.StartedAt, o.RowsWritten, o.ErrorClass, o.ErrorMessage, o.Observed, o.Tick)
	if err != nil {
		return fmt.Errorf("record the outcome of agency %s: %w", o.Agency.Login, err)
	}
	return nil
}

// EndAgencyClaim marks the claim of run on (job, login) ended. Called on the
// agency's transaction it is the commit's fence: when the claim is no longer
// the run's (its lease ran out and another run took the agency), it fails
// with ErrClaimLost and the transaction must roll back; the row lock it takes
// keeps anyone from taking the agency over until the transaction ends.
func (db *DB) EndAgencyClaim(ctx context.Context, job, login string, runID int64) error {
	tag, err := db.exec(ctx, `
		UPDATE syncer.agency_claims SET done = true, lease_until = NULL
		WHERE job = $1 AND login = $2 AND run_id = $3 AND NOT done`,
		job, login, runID)
	if err != nil {
		return fmt.Errorf("end the claim on agency %s: %w", login, err)
	}
	if tag.RowsAffected() == 0 {
		return &DatabaseError{Op: "agency claim fence", Err: fmt.Errorf("agency %s: %w", login, ErrClaimLost)}
	}
	return nil
}

// AgencyState is one agency's freshness and latest outcome for a job, as
// bi.agency_freshness reports it.
type AgencyState struct {
	Job            string
	Name, Login    string
	AgencyID       *int64
	LastSuccessAt  *time.Time
	Stale          bool
	LastStatus     string
	LastRunAt      *time.Time
	LastErrorClass string
	LastError      string
	FailingSince   *time.Time
}

// Failing is whether the agency's latest unit failed.
func (s AgencyState) Failing() bool { return s.LastStatus == "failed" }

// Healthy is the rule `syncer jobs` and the status page count "fresh" by:
// not stale and not failing.
func (s AgencyState) Healthy() bool { return !s.Stale && !s.Failing() }

// AgencyTally is one job's agencies as `syncer jobs` and the status page
// count them: how many there are, how many are Healthy, and the others.
type AgencyTally struct {
	Job       string
	All       int
	Healthy   int
	Unhealthy []AgencyState // stale or failing, in the order given
}

// TallyAgencies groups states by job, in the order each job first appears.
func TallyAgencies(states []AgencyState) []AgencyTally {
	var out []AgencyTally
	at := map[string]int{}
	for _, s := range states {
		i, ok := at[s.Job]
		if !ok {
			i = len(out)
			at[s.Job] = i
			out = append(out, AgencyTally{Job: s.Job})
		}
		t := &out[i]
		t.All++
		if s.Healthy() {
			t.Healthy++
		} else {
			t.Unhealthy = append(t.Unhealthy, s)
		}
	}
	return out
}

// AgencyStates reads bi.agency_freshness, by job and agency name.
func (db *DB) AgencyStates(ctx context.Context) ([]AgencyState, error) {
	rows, err := db.query(ctx, `
		SELECT job, agency_name, agency_login, agency_id, last_success_at, coalesce(stale, false),
		       coalesce(last_status, ''), last_run_at, coalesce(last_error_class, ''), coalesce(last_error, ''),
		       failing_since
		FROM bi.agency_freshness ORDER BY job, agency_name, agency_login`)
	if err != nil {
		return nil, fmt.Errorf("agency freshness: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (AgencyState, error) {
		var s AgencyState
		err := r.Scan(&s.Job, &s.Name, &s.Login, &s.AgencyID, &s.LastSuccessAt, &s.Stale,
			&s.LastStatus, &s.LastRunAt, &s.LastErrorClass, &s.LastError, &s.FailingSince)
		return s, err
	})
	if err != nil {
		return nil, fmt.Errorf("agency freshness: %w", err)
	}
	return out, nil
}
