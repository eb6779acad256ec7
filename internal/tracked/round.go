// Package tracked keeps the tracked targets (Mawthoq licences, Firstlight
// redeem checks): validating and importing them, resolving user tokens,
// masking and hashing accounts, and the check round both tracked jobs run.
package tracked

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"syncer/internal/config"
	"syncer/internal/providers"
	"syncer/internal/store"
)

// Store is what a tracked-check round needs of the database.
type Store interface {
	ClaimTargets(ctx context.Context, c store.Claim) ([]store.ClaimedTarget, store.ClaimCursor, error)
	RecordChecks(ctx context.Context, replica string, runID int64, checks []store.CheckResult) (store.RecordResult, error)
	ReleaseTargets(ctx context.Context, replica string, ids []int64) error
}

// Checker checks one claimed target of one kind. Whatever the answer says
// about the target is a result; an error is systemic (cancelled, our
// credentials refused) and ends the round.
type Checker interface {
	Check(ctx context.Context, t store.ClaimedTarget) (store.CheckResult, error)
}

// Tally is what a round reports to as it goes: the job runner's run
// (*jobs.Run), whose rows and counters land in the runs table.
type Tally interface {
	Count(key string, n int64)
	Counts() map[string]int64
	AddRows(n int64)
	MarkObserved()
}

// DefaultMaxConsecutiveErrors is how many provider_error results in a row
// end a round: past that the provider is down, not one target, and going on
// would spend every target's retries on an outage and record it against
// each of them.
const DefaultMaxConsecutiveErrors = 50

// OutcomeProviderError is the outcome both providers record when they
// failed or could not be reached.
const OutcomeProviderError = "provider_error"

// Round is one round of a tracked-check job: claim batches of due targets,
// check them with bounded concurrency under a rate limit, record the results
// in batches, until nothing is due. Claiming, checking and recording run at
// once, so the database never stalls the HTTP pipeline. Replicas running a
// round at once split the targets between them: a claim skips what another
// replica's lease holds.
//
// A round does not commit all or nothing: each batch of results is recorded
// (and its rows counted) as it comes, and stays when the round fails later.
type Round struct {
	Kind     store.TrackedKind
	Provider string // names the provider in a round-ending error
	Settings config.TrackedCheck
	Replica  string // who holds the leases; unique per process
	DB       Store
	Checker  Checker
	Now      func() time.Time
	// MaxErrors: provider_error results in a row that end the round
	// (default DefaultMaxConsecutiveErrors).
	MaxErrors int
}

// recordFlushEvery bounds how long a result waits to be recorded when checks
// are slow (a low rate limit), so leases do not run out on checked targets.
const recordFlushEvery = time.Second

// Run checks every due target once. runID is recorded with each check; log
// gets the round's summary.
func (r *Round) Run(ctx context.Context, runID int64, log *slog.Logger, run Tally) error {
	now := r.Now
	if now == nil {
		now = time.Now
	}
	s := r.Settings
	start := now()
	dueBefore := start.Add(-s.RecheckAfter)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	var (
		errOnce  sync.Once
		roundErr error
	)
	fail := func(err error) {
		errOnce.Do(func() { roundErr = err; cancel(err) })
	}
	held := newLeaseSet()
	size := r.claimSize()
	work := make(chan store.ClaimedTarget, size)
	results := make(chan store.CheckResult, 2*size)

	go func() { // claimer
		defer close(work)
		var cursor store.ClaimCursor
		for ctx.Err() == nil {
			now := now()
			// Not cancelled midway: a claim that committed must come back,
			// or its leases could not be released.
			claimCtx, claimCancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			batch, next, err := r.DB.ClaimTargets(claimCtx, store.Claim{
				Kind: r.Kind, Replica: r.Replica, Now: now, DueBefore: dueBefore,
				LeaseUntil: now.Add(s.Lease), Limit: size, After: cursor,
			})
			cursor = next
			claimCancel()
			if err != nil {
				fail(err)
				return
			}
			if len(batch) == 0 {
				return
			}
			held.add(batch)
			for _, t := range batch {
				select {
				case work <- t:
				case <-ctx.Done():
					return
				}
			}
		}
	}()

	var limiter *rate.Limiter
	if s.RateLimit > 0 {
		// Burst 1: the provider sees at most RateLimit requests in any second.
		limiter = rate.NewLimiter(rate.Limit(s.RateLimit), 1)
	}
	var workers sync.WaitGroup
	for range max(s.Concurrency, 1) {
		workers.Go(func() {
			for t := range work {
				if ctx.Err() != nil {
					continue // drain; the lease is released below
				}
				if limiter != nil && limiter.Wait(ctx) != nil {
					continue
				}
				res, err := r.Checker.Check(ctx, t)
				if err != nil {
					fail(err)
					continue
				}
				results <- res
			}
		})
	}
	go func() { workers.Wait(); close(results) }()

	// Recording goes on after a failure or cancellation: every result that
	// arrives is a request the provider answered, worth keeping.
	recCtx := context.WithoutCancel(ctx)
	rec := &recorder{round: r, runID: runID, run: run, held: held, limit: 10 * size, maxErrors: r.MaxErrors}
	if rec.maxErrors <= 0 {
		rec.maxErrors = DefaultMaxConsecutiveErrors
	}
	if err := rec.loop(recCtx, results, size, fail); err != nil {
		fail(err)
	}

	if ids := held.remaining(); len(ids) > 0 {
		relCtx, relCancel := context.WithTimeout(recCtx, 10*time.Second)
		if err := r.DB.ReleaseTargets(relCtx, r.Replica, ids); err != nil {
			log.Warn("could not release leases; they run out on their own", "targets", len(ids), "err", err)
		}
		relCancel()
	}
	counts := run.Counts()
	log.Info("tracked round", "kind", r.Kind, "checked", rec.checked, "by_outcome", counts,
		"took", now().Sub(start).Round(time.Millisecond))
	if roundErr == nil && ctx.Err() != nil {
		roundErr = context.Cause(ctx)
	}
	return roundErr
}

// claimSize is BatchSize, cut so that a claimed batch waiting behind the
// rate limit is checked well within its lease.
func (r *Round) claimSize() int {
	n := max(r.Settings.BatchSize, 1)
	if r.Settings.RateLimit > 0 && r.Settings.Lease > 0 {
		if fit := int(r.Settings.RateLimit * r.Settings.Lease.Seconds() / 4); fit < n {
			n = max(fit, 1)
		}
	}
	return n
}

// recorder writes results in batches as they come.
type recorder struct {
	round     *Round
	runID     int64
	run       Tally
	held      *leaseSet
	limit     int // the most results written in one batch
	maxErrors int

	buf         []store.CheckResult
	checked     int64
	errorsInRow int
}

func (rc *recorder) loop(ctx context.Context, results <-chan store.CheckResult, batch int, fail func(error)) error {
	tick := time.NewTicker(recordFlushEvery)
	defer tick.Stop()
	var failed error
	for {
		select {
		case res, ok := <-results:
			if !ok {
				return errors.Join(failed, rc.flush(ctx))
			}
			rc.add(res, fail)
			if len(rc.buf) < batch {
				continue
			}
			// Take what else has arrived meanwhile: when the database is the
			// slower side, batches grow and statements get fewer.
		more:
			for len(rc.buf) < rc.limit {
				select {
				case res, ok := <-results:
					if !ok {
						break more
					}
					rc.add(res, fail)
				default:
					break more
				}
			}
		case <-tick.C:
		}
		if failed == nil && len(rc.buf) > 0 {
			if err := rc.flush(ctx); err != nil {
				failed = err
				fail(err) // stop checking; keep draining so workers can finish
			}
		}
	}
}

func (rc *recorder) add(res store.CheckResult, fail func(error)) {
	rc.buf = append(rc.buf, res)
	if res.Outcome != OutcomeProviderError {
		rc.errorsInRow = 0
		return
	}
	rc.errorsInRow++
	if rc.errorsInRow == rc.maxErrors {
		fail(&providers.Error{Provider: rc.round.Provider, Op: "tracked round", Kind: providers.Retryable,
			Message: fmt.Sprintf("%d checks in a row failed (last: %s); the rest waits for the next round", rc.errorsInRow, res.Message)})
	}
}

func (rc *recorder) flush(ctx context.Context) error {
	if len(rc.buf) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	got, err := rc.round.DB.RecordChecks(ctx, rc.round.Replica, rc.runID, rc.buf)
	if err != nil {
		return err
	}
	for _, c := range rc.buf {
		rc.run.Count(string(c.Outcome), 1)
		if c.Outcome != OutcomeProviderError && c.HTTPStatus != 0 {
			// The provider answered about this target: the round observed data.
			rc.run.MarkObserved()
		}
	}
	rc.run.AddRows(got.Rows())
	rc.checked += int64(len(rc.buf))
	rc.held.done(rc.buf)
	rc.buf = rc.buf[:0]
	return nil
}

// leaseSet is the targets this round claimed and has not recorded yet.
type leaseSet struct {
	mu  sync.Mutex
	ids map[int64]struct{}
}

func newLeaseSet() *leaseSet { return &leaseSet{ids: map[int64]struct{}{}} }

func (l *leaseSet) add(ts []store.ClaimedTarget) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, t := range ts {
		l.ids[t.ID] = struct{}{}
	}
}

func (l *leaseSet) done(cs []store.CheckResult) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range cs {
		delete(l.ids, c.TargetID)
	}
}

func (l *leaseSet) remaining() []int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]int64, 0, len(l.ids))
	for id := range l.ids {
		out = append(out, id)
	}
	return out
}

// HTTPClient is a tracked provider's HTTP client for concurrency workers:
// it keeps an idle connection per worker, where the default two per host
// would open a new connection for most of 100,000 checks.
func HTTPClient(timeout time.Duration, concurrency int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = concurrency + 2
	t.MaxIdleConns = max(t.MaxIdleConns, 2*(concurrency+2))
	return &http.Client{Timeout: timeout, Transport: t}
}
