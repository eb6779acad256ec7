package main

import (
	"context"
	"sync"
	"time"

	"syncer/internal/config"
	"syncer/internal/jobs"
)

// reconcileEvery is the period of the daemon's own reconcile: that of
// mgid-balances, whose snapshots are what reconcile's verdicts rest on.
func (a *app) reconcileEvery(now time.Time) time.Duration {
	s, err := jobs.ParseSchedule(a.cfg.Jobs[config.JobMGIDBalances].Schedule)
	if err != nil {
		return 15 * time.Minute
	}
	return max(jobs.Period(s, now), time.Second)
}

// reconcilePeriodically settles unknown and in-flight MGID transfers every
// period, whether or not mgid-topup is enabled (which reconciles on its own
// rounds): without it, a transfer a person sent by hand and lost the answer
// of would wait for someone to remember `syncer mgid transfers reconcile`.
// It does nothing without MGID agencies or open transfers; an agency whose
// lock another process holds (a top-up round, a transfer being sent) is
// left for the next pass. The returned stop cancels a pass in progress and
// waits for it a moment only: shutdown stays bounded.
func (a *app) reconcilePeriodically(ctx context.Context, every time.Duration) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	if len(a.cfg.MGID.Agencies) == 0 {
		return cancel
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			a.reconcilePass(ctx)
		}
	}()
	return func() {
		cancel()
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
		}
	}
}

func (a *app) reconcilePass(ctx context.Context) {
	// Bounded: a silent MGID or database holds a pass this long at most.
	ctx, cancel := context.WithTimeout(ctx, 2*a.transferGrace())
	defer cancel()
	n, err := a.db.CountOpenTransfers(ctx)
	if err != nil || n == 0 {
		return // nothing to do, or the database is down and the runs say so
	}
	for _, r := range a.reconcileTransfers(ctx) {
		if r.err != nil && ctx.Err() == nil {
			a.log.Warn("periodic reconcile of MGID transfers failed; it runs again next period",
				"agency_id", r.agencyID, "err", r.err)
		}
		if len(r.report.Settled) > 0 || len(r.report.Undecided) > 0 {
			a.log.Info("reconciled MGID transfers", "agency_id", r.agencyID,
				"settled", len(r.report.Settled), "still_unknown", len(r.report.Undecided))
		}
	}
}
