package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"syncer/internal/store"
)

// An MGID agency is the unit of work of mgid-balances and mgid-spend: each
// agency has its own transaction and its own outcome (a row in
// syncer.agency_runs), so one agency's refused login, outage or garbage
// never discards another's data. The run's own row says how many agencies
// failed and names them; it fails when any did, yet keeps (and counts) what
// the others committed.
//
// Agencies run in parallel, at most Parallel at once in a process, and the
// replicas running a tick share its agencies by claiming them one at a time
// in syncer.agency_claims (FOR UPDATE SKIP LOCKED), so each agency is done
// once per tick.

// MGIDAgency is how an agency client names its agency.
type MGIDAgency interface {
	Name() string  // the configured name
	Login() string // the MGID login (never the password)
}

// AgencyStore is what an agency job needs of the database besides
// transactions: the claims and the per-agency outcomes.
type AgencyStore interface {
	TxRunner
	RegisterAgencies(ctx context.Context, job string, agencies []store.AgencyRef) error
	ClaimAgency(ctx context.Context, c store.AgencyClaim) (login string, ok bool, err error)
	InFlightElsewhere(ctx context.Context, job string, logins []string, tick time.Time) (int64, *time.Time, error)
	RecordAgencyOutcome(ctx context.Context, o store.AgencyOutcome) error
}

// AgencyObserver hears how each agency's unit ended, and about a tick that
// could not take some of its agencies because an earlier tick still held
// them (the metrics).
type AgencyObserver interface {
	AgencyFinished(job, agency, status, errorClass string)
	TickOverran(job string, agencies int64)
}

// DefaultAgencyParallel is how many agencies a process works on at once
// when not configured: the work is waiting on MGID and on COPY, so a 2-core
// box keeps both busy with a few more than its cores.
const DefaultAgencyParallel = 4

// AgencyFailure is one agency's failure.
type AgencyFailure struct {
	Agency store.AgencyRef
	Err    error
}

func (f AgencyFailure) Error() string {
	return fmt.Sprintf("agency %s (login %s): %v", f.Agency.Name, f.Agency.Login, f.Err)
}

// AgencyFailures is a run some of whose agencies failed. The others
// committed. Its class (ErrorClass) is the first failure's.
type AgencyFailures struct {
	Failed []AgencyFailure // by name
	Of     int             // agencies the run took
}

func (e *AgencyFailures) Error() string {
	parts := make([]string, len(e.Failed))
	for i, f := range e.Failed {
		parts[i] = f.Error()
	}
	return fmt.Sprintf("%d of %d agencies failed: %s", len(e.Failed), e.Of, strings.Join(parts, "; "))
}

// Unwrap gives the first failure, so the run is classed by it.
func (e *AgencyFailures) Unwrap() error { return e.Failed[0].Err }

// agencyUnit is one agency's work in one run.
type agencyUnit struct {
	ref      store.AgencyRef
	run      *Run
	job      string
	started  time.Time
	day      *time.Time
	tick     *time.Time // the claim's tick; nil in a backfill day
	log      *slog.Logger
	agencyID int64
	rows     int64
	observed bool
	claimed  bool // the unit holds a claim in syncer.agency_claims
}

// seal, on the agency's transaction just before it commits, records the
// agency's success and (for a claimed unit) ends its claim, which fails if
// the claim was lost: the commit then rolls back.
func (u *agencyUnit) seal(ctx context.Context, tx *store.Tx) error {
	if u.claimed {
		if err := tx.EndAgencyClaim(ctx, u.job, u.ref.Login, u.run.ID); err != nil {
			return err
		}
	}
	return tx.RecordAgencyOutcome(ctx, u.outcome(nil))
}

func (u *agencyUnit) outcome(err error) store.AgencyOutcome {
	o := store.AgencyOutcome{
		RunID: u.run.ID, Job: u.job, Agency: u.ref, AgencyID: u.agencyID, WindowDate: u.day, Tick: u.tick,
		Status: StatusSucceeded, StartedAt: u.started, RowsWritten: u.rows, Observed: u.observed,
	}
	if err != nil {
		o.Status, o.ErrorClass = StatusFailed, ErrorClass(err)
		if o.ErrorClass == "cancelled" {
			o.Status = StatusCancelled
		}
		o.ErrorMessage = cut(err.Error(), 2000)
		o.RowsWritten, o.Observed = 0, false
	}
	return o
}

// agencyRound runs work for every agency this process knows that the tick
// still has free, parallel at most at once.
type agencyRound struct {
	job      string
	db       AgencyStore
	agencies []MGIDAgency
	parallel int
	observer AgencyObserver
	// work does one agency: it opens its own transaction and calls u.seal
	// on it before committing.
	work func(ctx context.Context, i int, u *agencyUnit) error
}

func (r *agencyRound) do(ctx context.Context, run *Run) error {
	refs := make([]store.AgencyRef, len(r.agencies))
	logins := make([]string, len(r.agencies))
	index := make(map[string]int, len(r.agencies))
	for i, a := range r.agencies {
		refs[i] = store.AgencyRef{Name: a.Name(), Login: a.Login()}
		logins[i] = a.Login()
		index[a.Login()] = i
	}
	if err := r.db.RegisterAgencies(ctx, r.job, refs); err != nil {
		return err
	}
	tick := run.Tick
	if tick.IsZero() {
		tick = time.Now()
	}
	tick = tick.UTC().Truncate(time.Microsecond)
	lease := run.timeout
	if lease <= 0 {
		lease = 10 * time.Minute
	}
	var (
		mu       sync.Mutex
		failures []AgencyFailure
		took     int
		claimErr error
		wg       sync.WaitGroup
	)
	claim := func() (int, bool) {
		mu.Lock()
		stop := claimErr != nil
		mu.Unlock()
		if stop || ctx.Err() != nil {
			return 0, false
		}
		login, ok, err := r.db.ClaimAgency(ctx, store.AgencyClaim{
			Job: r.job, Logins: logins, Tick: tick, RunID: run.ID, Replica: run.replica, Lease: lease,
		})
		if err != nil {
			mu.Lock()
			if claimErr == nil {
				claimErr = dbStep(ctx, "claim an agency", err)
			}
			mu.Unlock()
			return 0, false
		}
		if !ok {
			return 0, false
		}
		return index[login], true
	}
	for w := 0; w < max(1, min(r.parallel, len(r.agencies))); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i, ok := claim()
				if !ok {
					return
				}
				u := &agencyUnit{ref: refs[i], run: run, job: r.job, started: time.Now(), claimed: true, tick: &tick}
				u.log = run.Log.With("agency", u.ref.Name, "login", u.ref.Login)
				err := r.work(ctx, i, u)
				if err != nil {
					r.failed(ctx, u, err)
				}
				notify(r.observer, u, err)
				mu.Lock()
				took++
				if err != nil {
					failures = append(failures, AgencyFailure{Agency: u.ref, Err: err})
				} else {
					run.AddRows(u.rows)
					if u.observed {
						run.MarkObserved()
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	run.Count("agencies", int64(took))
	run.Count("agencies_failed", int64(len(failures)))
	if claimErr != nil {
		return claimErr
	}
	r.overran(ctx, run, logins, tick)
	return collect(failures, took)
}

// failed records an agency's failure after its transaction rolled back, and
// frees it for the next tick; it logs the failure at ERROR, naming the agency.
// A database failure is logged at WARN: agencies in parallel all fail with
// one outage, and the run's own line carries that outage's one ERROR.
func (r *agencyRound) failed(ctx context.Context, u *agencyUnit, err error) {
	o := u.outcome(err)
	switch {
	case o.Status == StatusCancelled:
		u.log.Warn("agency cancelled", "err", err)
	case o.ErrorClass == ClassDatabase:
		u.log.Warn("agency failed", "error_class", o.ErrorClass, "err", err)
	default:
		u.log.Error("agency failed", "error_class", o.ErrorClass, "err", err)
	}
	// The run's own cancellation must not keep the outcome from being recorded.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), StepTimeout(u.run.timeout))
	defer cancel()
	rerr := r.db.WithTx(rctx, func(tx *store.Tx) error {
		if u.claimed {
			// A lost claim is fine here: whoever took it over records its own.
			if err := tx.EndAgencyClaim(rctx, r.job, u.ref.Login, u.run.ID); err != nil && !errors.Is(err, store.ErrClaimLost) {
				return err
			}
		}
		return tx.RecordAgencyOutcome(rctx, o)
	})
	if rerr != nil {
		u.log.Error("could not record the agency's failure (its claim runs out with its lease)", "err", rerr)
	}
}

// overran warns when agencies of this job were still held by an earlier
// tick when this one ran out of agencies to claim: that tick could not
// finish in time, and this one skipped them.
func (r *agencyRound) overran(ctx context.Context, run *Run, logins []string, tick time.Time) {
	n, oldest, err := r.db.InFlightElsewhere(ctx, r.job, logins, tick)
	if err != nil || n == 0 {
		return
	}
	run.Count("agencies_still_in_earlier_tick", n)
	run.Log.Warn("tick overran: agencies still running from an earlier tick were skipped by this one",
		"agencies", n, "earliest_tick", oldest, "tick", tick)
	if r.observer != nil {
		r.observer.TickOverran(r.job, n)
	}
}

func collect(failures []AgencyFailure, took int) error {
	if len(failures) == 0 {
		return nil
	}
	sort.Slice(failures, func(a, b int) bool { return failures[a].Agency.Name < failures[b].Agency.Name })
	return &AgencyFailures{Failed: failures, Of: took}
}

// notify tells o, if any, how u ended.
func notify(o AgencyObserver, u *agencyUnit, err error) {
	if o == nil {
		return
	}
	out := u.outcome(err)
	o.AgencyFinished(u.job, u.ref.Name, out.Status, out.ErrorClass)
}
