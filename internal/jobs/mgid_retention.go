package jobs

import (
	"context"
	"fmt"
	"time"

	"syncer/internal/config"
	"syncer/internal/store"
)

// MGIDRetention keeps full client wallet detail for DetailDays days and
// only the daily rows before that, by dropping whole monthly partitions
// (SYNCER_RETENTION_DETAIL_DAYS). Dropping a partition frees its space at
// once, where deleting rows would leave it to vacuum.
type MGIDRetention struct {
	DB         TxRunner
	DetailDays int
	Now        func() time.Time
}

func (j *MGIDRetention) Name() string { return config.JobMGIDRetention }

func (j *MGIDRetention) Run(ctx context.Context, run *Run) error {
	if j.DetailDays <= 0 {
		return fmt.Errorf("retention is off: SYNCER_RETENTION_DETAIL_DAYS is not set")
	}
	now := time.Now
	if j.Now != nil {
		now = j.Now
	}
	before := now().Add(-time.Duration(j.DetailDays) * 24 * time.Hour)
	return j.DB.WithTx(ctx, func(tx *store.Tx) error {
		dropped, err := tx.DropWalletDetail(ctx, before)
		if err != nil {
			return err
		}
		run.AddRows(int64(len(dropped)))
		// Not a provider source: its own success is its freshness, so a
		// retention that stopped running shows stale like a source would.
		run.MarkObserved()
		run.Log.Info("wallet detail retention", "detail_days", j.DetailDays, "before", before.UTC().Format(time.RFC3339),
			"partitions_dropped", dropped)
		return nil
	})
}
