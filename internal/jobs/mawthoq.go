package jobs

import (
	"context"
	"time"

	"syncer/internal/config"
	"syncer/internal/store"
	"syncer/internal/tracked"
)

// MawthoqRecheck re-checks every tracked Mawthoq licence whose last check is
// older than Settings.RecheckAfter and keeps its status history. Replicas
// running it at once split the targets between them (see tracked.Round).
type MawthoqRecheck struct {
	Gmedia   tracked.GmediaChecker
	DB       tracked.Store
	Settings config.TrackedCheck
	Replica  string // who holds the leases; unique per process
	Now      func() time.Time
	// MaxConsecutiveErrors: provider_error results in a row that end the
	// round (default tracked.DefaultMaxConsecutiveErrors).
	MaxConsecutiveErrors int
}

func (j *MawthoqRecheck) Name() string { return config.JobMawthoqRecheck }

// Run is one round; a target Gmedia fails on is recorded as provider_error
// and the round goes on. It fails for Gmedia refusing our credentials, a
// database failure, or MaxConsecutiveErrors failures in a row; the checks
// recorded before that stay.
func (j *MawthoqRecheck) Run(ctx context.Context, run *Run) error {
	r := &tracked.Round{
		Kind: store.TrackedMawthoq, Provider: "gmedia", Settings: j.Settings, Replica: j.Replica,
		DB: j.DB, Now: j.Now, MaxErrors: j.MaxConsecutiveErrors,
		Checker: tracked.MawthoqChecker{Gmedia: j.Gmedia, Now: j.Now},
	}
	return r.Run(ctx, run.ID, run.Log, run)
}
