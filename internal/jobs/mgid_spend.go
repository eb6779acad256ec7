package jobs

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"syncer/internal/config"
	"syncer/internal/providers"
	"syncer/internal/providers/mgid"
	"syncer/internal/store"
)

// MGIDSpendSource is what the spend job needs of an MGID agency client.
type MGIDSpendSource interface {
	MGIDAgency
	AccountID(ctx context.Context) (int64, error)
	Spend(ctx context.Context, dateStart, dateEnd time.Time, clientIDs []int64, restart func() error, fn func(mgid.ClientSpend) error) error
}

// MGIDSpend keeps spend per client per calendar day for today and the
// previous LookbackDays days, recording every restated value. Each agency
// is fetched and written on its own (agencies.go).
type MGIDSpend struct {
	Agencies     []MGIDSpendSource
	DB           AgencyStore
	Location     *time.Location // the zone whose calendar days MGID reports in
	LookbackDays int
	Parallel     int // an agency's day requests in flight at once (default 4)
	// AgencyParallel is how many agencies a process works on at once
	// (default DefaultAgencyParallel).
	AgencyParallel int
	Observer       AgencyObserver
	Now            func() time.Time
}

func (j *MGIDSpend) Name() string { return config.JobMGIDSpend }

// Run fetches every day of the window for each agency, then writes the
// agency's days in its own transaction.
func (j *MGIDSpend) Run(ctx context.Context, run *Run) error {
	now := j.now()
	today := civilDay(now.In(j.loc()))
	days := make([]time.Time, 0, j.LookbackDays+1)
	for d := j.LookbackDays; d >= 0; d-- {
		days = append(days, today.AddDate(0, 0, -d))
	}
	agencies := make([]MGIDAgency, len(j.Agencies))
	for i, a := range j.Agencies {
		agencies[i] = a
	}
	round := &agencyRound{job: j.Name(), db: j.DB, agencies: agencies, parallel: j.agencyParallel(), observer: j.Observer,
		work: func(ctx context.Context, i int, u *agencyUnit) error {
			ctx = providers.WithAccountLogger(ctx, u.log)
			rows, fetched, err := j.fetch(ctx, j.Agencies[i], days, u)
			if err != nil {
				return err
			}
			return j.DB.WithTx(ctx, func(tx *store.Tx) error {
				if err := j.write(ctx, tx, u, now, rows, fetched); err != nil {
					return err
				}
				return u.seal(ctx, tx)
			})
		}}
	return round.do(ctx, run)
}

// RunDay is one backfill window: each agency's fetch of the day, then its
// write in a savepoint of the day's transaction, so one agency's failure
// leaves the others' days to commit. A day with a failed agency returns
// *AgencyFailures: the backfill commits the rest but does not checkpoint it.
func (j *MGIDSpend) RunDay(ctx context.Context, run *Run, tx *store.Tx, day time.Time) error {
	type fetchedAgency struct {
		rows    []store.SpendDay
		fetched []store.SpendFetch
		err     error
		u       *agencyUnit
	}
	results := make([]fetchedAgency, len(j.Agencies))
	var wg sync.WaitGroup
	sem := make(chan struct{}, j.agencyParallel())
	for i, a := range j.Agencies {
		d := day
		u := &agencyUnit{ref: store.AgencyRef{Name: a.Name(), Login: a.Login()}, run: run, job: j.Name(), started: time.Now(), day: &d}
		u.log = run.Log.With("agency", u.ref.Name, "login", u.ref.Login)
		results[i].u = u
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				results[i].err = ctx.Err()
				return
			}
			defer func() { <-sem }()
			results[i].rows, results[i].fetched, results[i].err = j.fetch(providers.WithAccountLogger(ctx, u.log), a, []time.Time{day}, u)
		}()
	}
	wg.Wait()
	var failures []AgencyFailure
	for _, r := range results {
		u, err := r.u, r.err
		if err == nil {
			err = tx.WithTx(ctx, func(sp *store.Tx) error { // a savepoint
				if err := j.write(ctx, sp, u, j.now(), r.rows, r.fetched); err != nil {
					return err
				}
				return u.seal(ctx, sp)
			})
		}
		notify(j.Observer, u, err)
		if err == nil {
			run.AddRows(u.rows)
			if u.observed {
				run.MarkObserved()
			}
			continue
		}
		o := u.outcome(err)
		u.log.Error("agency failed", "error_class", o.ErrorClass, "err", err)
		if rerr := tx.RecordAgencyOutcome(ctx, o); rerr != nil {
			// The day's transaction itself is broken: nothing of it commits.
			return fmt.Errorf("%w (after agency %s failed: %v)", rerr, u.ref.Name, err)
		}
		failures = append(failures, AgencyFailure{Agency: u.ref, Err: err})
	}
	run.Count("agencies", int64(len(j.Agencies)))
	run.Count("agencies_failed", int64(len(failures)))
	return collect(failures, len(j.Agencies))
}

// write stores one agency's spend rows and marks every day it read, with or
// without rows, in the same transaction: coverage counts only committed days.
func (j *MGIDSpend) write(ctx context.Context, tx *store.Tx, u *agencyUnit, now time.Time, rows []store.SpendDay, fetched []store.SpendFetch) error {
	at := now.UTC().Truncate(time.Microsecond)
	res, err := tx.UpsertSpend(ctx, u.run.ID, at, j.loc(), rows)
	if err != nil {
		return err
	}
	if err := tx.RecordSpendFetches(ctx, u.run.ID, at, fetched); err != nil {
		return err
	}
	u.observed = len(fetched) > 0
	u.rows = res.Written()
	u.run.Count("days_read", int64(len(rows)))
	u.run.Count("inserted", res.Inserted)
	u.run.Count("revised", res.Revised)
	return nil
}

// fetch reads one agency's report of every day, a few at a time. Each day is
// asked for alone (dateStart = dateEnd) because a range would come back
// summed. fetched lists every day that MGID answered for.
func (j *MGIDSpend) fetch(ctx context.Context, a MGIDSpendSource, days []time.Time, u *agencyUnit) (rows []store.SpendDay, fetched []store.SpendFetch, err error) {
	agencyID, err := a.AccountID(ctx)
	if err != nil {
		return nil, nil, err
	}
	u.agencyID = agencyID
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(j.parallel())
	var mu sync.Mutex
	for _, day := range days {
		g.Go(func() error {
			var part []store.SpendDay
			// A report that broke off is asked for again: drop what it gave.
			restart := func() error { part = part[:0]; return nil }
			err := a.Spend(ctx, day, day, nil, restart, func(s mgid.ClientSpend) error {
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
	if err := g.Wait(); err != nil {
		return nil, nil, err
	}
	return rows, fetched, nil
}

func (j *MGIDSpend) agencyParallel() int {
	if j.AgencyParallel > 0 {
		return j.AgencyParallel
	}
	return DefaultAgencyParallel
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
