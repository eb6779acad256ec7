package jobs

import (
	"context"
	"time"

	"syncer/internal/config"
	"syncer/internal/store"
	"syncer/internal/tracked"
)

// FirstlightRedeem re-checks every tracked redeem check whose last check is
// older than Settings.RecheckAfter and keeps its history. Each target names
// a user token reference, resolved through UserTokens once per round.
type FirstlightRedeem struct {
	Firstlight           tracked.FirstlightRedeemer
	DB                   tracked.Store
	UserTokens           tracked.UserTokens
	Settings             config.TrackedCheck
	Replica              string
	Now                  func() time.Time
	MaxConsecutiveErrors int // see MawthoqRecheck
}

func (j *FirstlightRedeem) Name() string { return config.JobFirstlightRedeem }

// Run is one round. A reference that does not resolve is recorded as
// auth_failed with code token_ref_unresolved, without a request; the round
// fails as MawthoqRecheck's does, keeping the checks recorded before.
func (j *FirstlightRedeem) Run(ctx context.Context, run *Run) error {
	r := &tracked.Round{
		Kind: store.TrackedFirstlight, Provider: "firstlight", Settings: j.Settings, Replica: j.Replica,
		DB: j.DB, Now: j.Now, MaxErrors: j.MaxConsecutiveErrors,
		Checker: tracked.NewFirstlightChecker(j.Firstlight, j.UserTokens, j.Now),
	}
	return r.Run(ctx, run.ID, run.Log, run)
}
