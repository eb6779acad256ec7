package jobs

import (
	"context"
	"errors"
	"time"

	"github.com/robfig/cron/v3"

	"syncer/internal/config"
	"syncer/internal/store"
	"syncer/internal/transfer"
)

// MGIDTopUpAgency is one agency the top-up job serves.
type MGIDTopUpAgency interface {
	transfer.AgencyClient
	AccountID(ctx context.Context) (int64, error)
}

// MGIDTopUp is the opt-in auto top-up: each round, every agency's Desk runs
// transfer.Desk.TopUp (lock, reconcile, plan from a fresh snapshot, journal
// the plan in a dry run or send it).
//
// It does not commit all or nothing: each transfer's journal row is
// committed before its request leaves and stays whatever happens to the
// rest of the round, so a failed run keeps the transfers it journaled.
type MGIDTopUp struct {
	DB       *store.DB
	Agencies []MGIDTopUpAgency
	Policy   config.TopUp
	Location *time.Location // MGID_TIMEZONE: the days the daily caps count
	// MaxSnapshotAge: a round whose latest snapshot is older is skipped
	// (planning from stale balances could top up a client twice). 0: no limit.
	MaxSnapshotAge time.Duration
	ReconcileGrace time.Duration
	// Replicas: standbys that must hold each transfer's journal row before
	// it is sent (SYNCER_TRANSFER_MIN_REPLICAS); not confirmed, the round
	// fails as database.
	Replicas transfer.ReplicaGuard
	Now      func() time.Time
}

func (j *MGIDTopUp) Name() string { return config.JobMGIDTopUp }

// Run serves every agency; one agency's failure (insufficient funds, an
// unknown outcome) does not stop the others', and all failures are returned.
func (j *MGIDTopUp) Run(ctx context.Context, run *Run) error {
	var errs []error
	for _, a := range j.Agencies {
		if err := j.agency(ctx, run, a); err != nil {
			errs = append(errs, err)
		}
		if ctx.Err() != nil {
			break
		}
	}
	return errors.Join(errs...)
}

func (j *MGIDTopUp) agency(ctx context.Context, run *Run, a MGIDTopUpAgency) error {
	id, err := a.AccountID(ctx)
	if err != nil {
		return err
	}
	desk := &transfer.Desk{DB: j.DB, MGID: a, AgencyID: id, Grace: j.ReconcileGrace, Replicas: j.Replicas,
		Log: run.Log.With("agency_id", id), Now: j.Now}
	return desk.TopUp(ctx, transfer.TopUpRound{Policy: j.Policy, Location: j.Location,
		MaxSnapshotAge: j.MaxSnapshotAge, RunID: run.ID, Tally: run})
}

// SnapshotAgeFor is the MaxSnapshotAge for a top-up that plans from
// mgid-balances snapshots taken on balancesSchedule: two of its periods, so
// one late or failed balances round does not stop the top-ups but two do.
// 0 (no limit) if the schedule does not parse (Validate refuses it first).
func SnapshotAgeFor(balancesSchedule string, now time.Time) time.Duration {
	sched, err := cron.ParseStandard(balancesSchedule)
	if err != nil {
		return 0
	}
	return 2 * Period(sched, now)
}
