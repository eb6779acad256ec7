package jobs

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"syncer/internal/providers/mgid"
	"syncer/internal/store"
)

// MGIDSpendSource is what the spend job needs of an MGID agency client.
type MGIDSpendSource interface {
	AccountID(ctx context.Context) (int64, error)
	Spend(ctx context.Context, dateStart, dateEnd time.Time, clientIDs []int64, restart func() error, fn func(mgid.ClientSpend) error) error
}

// MGIDSpend keeps spend per client per calendar day for today and the
// previous LookbackDays days, recording every restated value.
type MGIDSpend struct {
	Agencies     []MGIDSpendSource
	DB           TxRunner
	Location     *time.Location // the zone whose calendar days MGID reports in
	LookbackDays int
	Parallel     int // requests in flight at once (default 4)
	Now          func() time.Time
}

func (j *MGIDSpend) Name() string { return "mgid-spend" }

// Run fetches every day of the window, then writes them in one transaction.
func (j *MGIDSpend) Run(ctx context.Context, run *Run) error {
	now := j.now()
	today := civilDay(now.In(j.loc()))
	days := make([]time.Time, 0, j.LookbackDays+1)
	for d := j.LookbackDays; d >= 0; d-- {
		days = append(days, today.AddDate(0, 0, -d))
	}
	rows, fetched, err := j.fetch(ctx, days)
	if err != nil {
		return err
	}
	return j.DB.WithTx(ctx, func(tx *store.DB) error {
		return j.write(ctx, tx, run, now, rows, fetched)
	})
}

// RunDay is one backfill window: the same fetch and write for one day.
func (j *MGIDSpend) RunDay(ctx context.Context, run *Run, tx *store.DB, day time.Time) error {
	rows, fetched, err := j.fetch(ctx, []time.Time{day})
	if err != nil {
		return err
	}
	return j.write(ctx, tx, run, j.now(), rows, fetched)
}

// write stores the spend rows and marks every (agency, day) read, with or
// without rows, in the same transaction: coverage counts only committed days.
func (j *MGIDSpend) write(ctx context.Context, tx *store.DB, run *Run, now time.Time, rows []store.SpendDay, fetched []store.SpendFetch) error {
	at := now.UTC().Truncate(time.Microsecond)
	res, err := tx.UpsertSpend(ctx, run.ID, at, j.loc(), rows)
	if err != nil {
		return err
	}
	if err := tx.RecordSpendFetches(ctx, run.ID, at, fetched); err != nil {
		return err
	}
	if len(fetched) > 0 {
		run.MarkObserved()
	}
	run.AddRows(res.Written())
	run.Count("days_read", int64(len(rows)))
	run.Count("inserted", res.Inserted)
	run.Count("revised", res.Revised)
	return nil
}

// fetch reads every (agency, day) report, a few at a time. Each day is asked
// for alone (dateStart = dateEnd) because a range would come back summed.
// fetched lists every (agency, day) that MGID answered for.
func (j *MGIDSpend) fetch(ctx context.Context, days []time.Time) (rows []store.SpendDay, fetched []store.SpendFetch, err error) {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(j.parallel())
	var mu sync.Mutex
	for _, a := range j.Agencies {
		for _, day := range days {
			g.Go(func() error {
				agencyID, err := a.AccountID(ctx)
				if err != nil {
					return err
				}
				var part []store.SpendDay
				// A report that broke off is asked for again: drop what it gave.
				restart := func() error { part = part[:0]; return nil }
				err = a.Spend(ctx, day, day, nil, restart, func(s mgid.ClientSpend) error {
					part = append(part, store.SpendDay{AgencyID: agencyID, ClientID: s.ClientID, Day: day, Spent: s.Spent})
					return nil
				})
				if err != nil {
					return fmt.Errorf("spend of %s: %w", day.Format(time.DateOnly), err)
				}
				mu.Lock()
				rows = append(rows, part...)
				fetched = append(fetched, store.SpendFetch{AgencyID: agencyID, Day: day})
				mu.Unlock()
				return nil
			})
		}
	}
	if err := g.Wait(); err != nil {
		return nil, nil, err
	}
	return rows, fetched, nil
}

func (j *MGIDSpend) loc() *time.Location {
	if j.Location != nil {
		return j.Location
	}
	return time.UTC
}

func (j *MGIDSpend) parallel() int {
	if j.Parallel > 0 {
		return j.Parallel
	}
	return 4
}

func (j *MGIDSpend) now() time.Time {
	if j.Now != nil {
		return j.Now()
	}
	return time.Now()
}

// civilDay is t's calendar date as midnight UTC, the form dates travel in.
func civilDay(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
