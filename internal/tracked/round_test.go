package tracked_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"syncer/internal/config"
	"syncer/internal/providers"
	"syncer/internal/store"
	"syncer/internal/testdb"
	"syncer/internal/testutil"
	"syncer/internal/tracked"
)

var roundT0 = time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)

const roundRunID = 7

// answer is what the fake provider says to the call-th check (1-based) of
// target index i (the order the targets were seeded in).
type answer func(ctx context.Context, call, i int) (store.CheckResult, error)

// found is a provider's definite answer about a target.
func found(context.Context, int, int) (store.CheckResult, error) {
	return store.CheckResult{Outcome: "found", Status: "active", HTTPStatus: 200}, nil
}

// unreachable is the result a client records when the provider failed or
// could not be reached: a result about the target, not an error.
func unreachable(context.Context, int, int) (store.CheckResult, error) {
	return store.CheckResult{Outcome: tracked.OutcomeProviderError, Code: "500", Message: "HTTP 500 after retries"}, nil
}

// heldUntilCancelled is a check still in flight when the round should stop:
// it ends with the round's context, and answers anyway after a while so a
// round that does not stop fails on its counts rather than hanging.
func heldUntilCancelled(ctx context.Context, call, i int) (store.CheckResult, error) {
	select {
	case <-ctx.Done():
		return store.CheckResult{}, ctx.Err()
	case <-time.After(10 * time.Second):
		return found(ctx, call, i)
	}
}

// fakeChecker is the provider at the Checker boundary: it answers by call
// number and remembers which targets it was asked about, in order.
type fakeChecker struct {
	answer answer
	index  map[int64]int // target id -> seeded index

	mu    sync.Mutex
	calls int
	seen  []int // target indexes, in call order
}

func (f *fakeChecker) Check(ctx context.Context, t store.ClaimedTarget) (store.CheckResult, error) {
	f.mu.Lock()
	f.calls++
	call, i := f.calls, f.index[t.ID]
	f.seen = append(f.seen, i)
	f.mu.Unlock()
	res, err := f.answer(ctx, call, i)
	res.TargetID, res.CheckedAt = t.ID, roundT0
	return res, err
}

func (f *fakeChecker) asked() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int(nil), f.seen...)
}

// tally is the run a round reports to.
type tally struct {
	mu       sync.Mutex
	counts   map[string]int64
	rows     int64
	observed bool
}

func (t *tally) Count(key string, n int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.counts == nil {
		t.counts = map[string]int64{}
	}
	t.counts[key] += n
}

func (t *tally) Counts() map[string]int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return maps.Clone(t.counts)
}

func (t *tally) AddRows(n int64) { t.mu.Lock(); t.rows += n; t.mu.Unlock() }
func (t *tally) MarkObserved()   { t.mu.Lock(); t.observed = true; t.mu.Unlock() }

// faultyStore is the real store, watched (the size of each claim) and with
// one of its calls failing or gated if the case says so: the database as the
// round sees it when a statement fails.
type faultyStore struct {
	tracked.Store
	claims, records atomic.Int32
	claim           func(ctx context.Context, call int32) error // before the call-th claim
	record          func(ctx context.Context, call int32) error // before the call-th record
	recorded        func(call int32)                            // after the call-th record succeeded

	mu     sync.Mutex
	limits []int // each claim's Limit
}

func (s *faultyStore) claimLimits() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.limits...)
}

func (s *faultyStore) ClaimTargets(ctx context.Context, c store.Claim) ([]store.ClaimedTarget, store.ClaimCursor, error) {
	s.mu.Lock()
	s.limits = append(s.limits, c.Limit)
	s.mu.Unlock()
	if s.claim != nil {
		if err := s.claim(ctx, s.claims.Add(1)); err != nil {
			return nil, store.ClaimCursor{}, err
		}
	}
	return s.Store.ClaimTargets(ctx, c)
}

func (s *faultyStore) RecordChecks(ctx context.Context, replica string, runID int64, checks []store.CheckResult) (store.RecordResult, error) {
	call := s.records.Add(1)
	if s.record != nil {
		if err := s.record(ctx, call); err != nil {
			return store.RecordResult{}, err
		}
	}
	res, err := s.Store.RecordChecks(ctx, replica, runID, checks)
	if err == nil && s.recorded != nil {
		s.recorded(call)
	}
	return res, err
}

var errClaim = errors.New("claim: connection reset by peer")
var errRecord = errors.New("record checks: connection reset by peer")

// pipelined gates the store so that a round passes only if claiming runs
// ahead of recording (the first record waits for the second claim) and
// recording does not wait for claiming to end (the third claim waits for the
// first record). A round that claims everything first, or that claims,
// checks and records one batch at a time, deadlocks on a gate; the gate's
// deadline turns that into the round's error.
func pipelined(s *faultyStore) {
	secondClaim, firstRecord := make(chan struct{}), make(chan struct{})
	wait := func(ctx context.Context, ch chan struct{}, what string) error {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := testutil.Await(ctx, ch); err != nil {
			return fmt.Errorf("not pipelined: %s: %w", what, err)
		}
		return nil
	}
	s.claim = func(ctx context.Context, call int32) error {
		switch call {
		case 2:
			close(secondClaim)
		case 3:
			return wait(ctx, firstRecord, "the third claim waited for the first batch to be recorded")
		}
		return nil
	}
	s.record = func(ctx context.Context, call int32) error {
		if call == 1 {
			return wait(ctx, secondClaim, "the first record waited for the second claim")
		}
		return nil
	}
	s.recorded = func(call int32) {
		if call == 1 {
			close(firstRecord)
		}
	}
}

// seedTargets tracks n Mawthoq targets and returns their ids by index.
// Target i was last checked i minutes before the others, so the stalest is
// the last seeded: a round that checks stalest first goes n-1, n-2, ... 0.
func seedTargets(t *testing.T, db *store.DB, n int) []int64 {
	t.Helper()
	ctx := context.Background()
	in := make([]store.TargetInput, n)
	for i := range in {
		in[i] = store.TargetInput{Key: fmt.Sprintf("tiktok:%010d", i), Params: []byte(`{"platform":"tiktok"}`)}
	}
	if _, err := db.UpsertTargets(ctx, store.TrackedMawthoq, in, false); err != nil {
		t.Fatal(err)
	}
	testdb.Exec(t, db, `
		UPDATE syncer.tracked_targets
		SET last_checked_at = $1::timestamptz - interval '24 hours' - split_part(natural_key, ':', 2)::int * interval '1 minute'`,
		roundT0)
	rows, err := testdb.Query(t, db, `SELECT id FROM syncer.tracked_targets ORDER BY natural_key`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil || len(ids) != n {
		t.Fatalf("seeded %d targets of %d: %v", len(ids), n, err)
	}
	return ids
}

// Round claims due targets in batches, checks them, and records the results
// as it goes. Whatever the case, when Run returns no target is left leased,
// every result the provider gave was recorded once (in the history, in the
// run's counts and rows), and a target that was not recorded is still due.
func TestRound(t *testing.T) {
	t.Parallel()
	type want struct {
		err                  string           // a substring of Run's error, "" for none
		errKind              providers.Kind   // checked unless Permanent, the zero value
		checksMin, checksMax int              // Check calls
		recorded             int              // results recorded, -1 for any
		counts               map[string]int64 // the run's counts by outcome, when not nil
		order                []int            // the targets in check order, when not nil
		claimLimit           int              // every claim's Limit, when not 0
		tookAtLeast          time.Duration    // the round's least duration (a rate limit's floor)
	}
	reversed := func(n int) []int {
		out := make([]int, n)
		for i := range out {
			out[i] = n - 1 - i
		}
		return out
	}
	for _, tc := range []struct {
		name      string
		targets   int
		batch     int
		workers   int
		maxErrors int
		rateLimit float64       // requests per second, 0 for none
		lease     time.Duration // default a minute
		answer    answer
		db        func(*faultyStore) // sets faults or gates on the store
		cancelAt  int                // the parent context is cancelled as this check (1-based) starts
		want      want
	}{
		{name: "every due target once, stalest first", targets: 25, batch: 4, workers: 1, answer: found,
			want: want{checksMin: 25, checksMax: 25, recorded: 25, counts: map[string]int64{"found": 25}, order: reversed(25)}},
		{name: "claims, checks and records at once", targets: 60, batch: 10, workers: 2, answer: found, db: pipelined,
			want: want{checksMin: 60, checksMax: 60, recorded: 60, counts: map[string]int64{"found": 60}, claimLimit: 10}},
		// 10 checks a second and a 1 s lease: a claim of 50 would wait up to
		// 5 s behind the limiter and lose its lease, so claims are cut to a
		// quarter lease's worth (2), and 8 checks take at least 0.7 s.
		{name: "a rate limit slows the checks and shrinks the claims", targets: 8, batch: 50, workers: 4,
			rateLimit: 10, lease: time.Second, answer: found,
			want: want{checksMin: 8, checksMax: 8, recorded: 8, counts: map[string]int64{"found": 8}, claimLimit: 2, tookAtLeast: 700 * time.Millisecond}},
		{name: "a failing target is recorded and the round goes on", targets: 20, batch: 5, workers: 3,
			answer: func(ctx context.Context, call, i int) (store.CheckResult, error) {
				if i == 7 {
					return unreachable(ctx, call, i)
				}
				return found(ctx, call, i)
			},
			want: want{checksMin: 20, checksMax: 20, recorded: 20, counts: map[string]int64{"found": 19, tracked.OutcomeProviderError: 1}}},
		{name: "a check that errs ends the round", targets: 20, batch: 5, workers: 1,
			answer: func(ctx context.Context, call, i int) (store.CheckResult, error) {
				if call == 6 {
					return store.CheckResult{}, &providers.Error{Provider: "fake", Op: "check", Kind: providers.Auth, Message: "client secret refused"}
				}
				return found(ctx, call, i)
			},
			want: want{err: "client secret refused", errKind: providers.Auth, checksMin: 6, checksMax: 6, recorded: 5, counts: map[string]int64{"found": 5}}},
		{name: "cancelled", targets: 30, batch: 5, workers: 1, answer: found, cancelAt: 9,
			want: want{err: context.Canceled.Error(), checksMin: 9, checksMax: 9, recorded: 8, counts: map[string]int64{"found": 8}}},
		// The worker may take the next target before the recorder has seen
		// the 50th error: that check is held until the stop cancels it.
		{name: "50 provider errors in a row stop the round", targets: 120, batch: 10, workers: 1,
			answer: func(ctx context.Context, call, i int) (store.CheckResult, error) {
				if call > 50 {
					return heldUntilCancelled(ctx, call, i)
				}
				return unreachable(ctx, call, i)
			},
			want: want{err: "50 checks in a row failed", errKind: providers.Retryable, checksMin: 50, checksMax: 51, recorded: 50,
				counts: map[string]int64{tracked.OutcomeProviderError: 50}}},
		{name: "MaxErrors sets how many in a row", targets: 40, batch: 10, workers: 1, maxErrors: 3,
			answer: func(ctx context.Context, call, i int) (store.CheckResult, error) {
				if call > 3 {
					return heldUntilCancelled(ctx, call, i)
				}
				return unreachable(ctx, call, i)
			},
			want: want{err: "3 checks in a row failed", errKind: providers.Retryable, checksMin: 3, checksMax: 4, recorded: 3,
				counts: map[string]int64{tracked.OutcomeProviderError: 3}}},
		{name: "an answer between errors restarts the count", targets: 120, batch: 10, workers: 1,
			answer: func(ctx context.Context, call, i int) (store.CheckResult, error) {
				if call == 50 || call > 99 {
					return found(ctx, call, i)
				}
				return unreachable(ctx, call, i)
			},
			want: want{checksMin: 120, checksMax: 120, recorded: 120, counts: map[string]int64{"found": 22, tracked.OutcomeProviderError: 98}}},
		{name: "a failed claim ends the round", targets: 30, batch: 10, workers: 2, answer: found,
			db: func(s *faultyStore) {
				s.claim = func(_ context.Context, call int32) error {
					if call == 2 {
						return errClaim
					}
					return nil
				}
			},
			// The first batch may be checked in part: the failure cancels the rest.
			want: want{err: errClaim.Error(), checksMin: 0, checksMax: 10, recorded: -1}},
		{name: "a failed record ends the round and frees the leases", targets: 30, batch: 10, workers: 2, answer: found,
			db:   func(s *faultyStore) { s.record = func(context.Context, int32) error { return errRecord } },
			want: want{err: errRecord.Error(), checksMin: 1, checksMax: 30, recorded: 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := testdb.New(t)
			ids := seedTargets(t, db, tc.targets)
			index := make(map[int64]int, len(ids))
			for i, id := range ids {
				index[id] = i
			}
			// A target checked ten minutes ago and a removed one are not due.
			if _, err := db.UpsertTargets(context.Background(), store.TrackedMawthoq, []store.TargetInput{
				{Key: "tiktok:fresh", Params: []byte(`{}`)}, {Key: "tiktok:removed", Params: []byte(`{}`)}}, false); err != nil {
				t.Fatal(err)
			}
			testdb.Exec(t, db, `UPDATE syncer.tracked_targets SET last_checked_at = $1 WHERE natural_key = 'tiktok:fresh'`,
				roundT0.Add(-10*time.Minute))
			if err := db.RemoveTarget(context.Background(), store.TrackedMawthoq, "tiktok:removed"); err != nil {
				t.Fatal(err)
			}

			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			checker := &fakeChecker{index: index, answer: tc.answer}
			if tc.cancelAt > 0 {
				next := checker.answer
				checker.answer = func(actx context.Context, call, i int) (store.CheckResult, error) {
					if call == tc.cancelAt {
						cancel()
						<-actx.Done() // the round's context ends with its parent
						return store.CheckResult{}, actx.Err()
					}
					return next(actx, call, i)
				}
			}
			st := &faultyStore{Store: db}
			if tc.db != nil {
				tc.db(st)
			}
			lease := tc.lease
			if lease == 0 {
				lease = time.Minute
			}
			run := &tally{}
			round := &tracked.Round{Kind: store.TrackedMawthoq, Provider: "fake", Replica: "r1", DB: st, Checker: checker,
				Now: func() time.Time { return roundT0 }, MaxErrors: tc.maxErrors,
				Settings: config.TrackedCheck{RecheckAfter: time.Hour, Concurrency: tc.workers, BatchSize: tc.batch, Lease: lease, RateLimit: tc.rateLimit}}
			began := time.Now()
			err := round.Run(ctx, roundRunID, slog.New(slog.NewTextHandler(io.Discard, nil)), run)
			took := time.Since(began)

			w := tc.want
			switch {
			case w.err == "" && err != nil:
				t.Fatalf("Run: %v, want no error", err)
			case w.err != "" && (err == nil || !strings.Contains(err.Error(), w.err)):
				t.Fatalf("Run: %v, want an error with %q", err, w.err)
			}
			if w.errKind != 0 {
				var pe *providers.Error
				if !errors.As(err, &pe) || pe.Kind != w.errKind {
					t.Errorf("Run: %v, want a provider error of kind %v", err, w.errKind)
				}
			}
			if took < w.tookAtLeast {
				t.Errorf("the round took %s, less than the rate limit allows (%s)", took, w.tookAtLeast)
			}
			if w.claimLimit != 0 {
				for _, l := range st.claimLimits() {
					if l != w.claimLimit {
						t.Errorf("claims of %v targets, want each of %d", st.claimLimits(), w.claimLimit)
						break
					}
				}
			}
			asked := checker.asked()
			if len(asked) < w.checksMin || len(asked) > w.checksMax {
				t.Errorf("%d checks, want %d to %d", len(asked), w.checksMin, w.checksMax)
			}
			if w.order != nil && fmt.Sprint(asked) != fmt.Sprint(w.order) {
				t.Errorf("checked in the order %v, want stalest first %v", asked, w.order)
			}
			askedIDs := make([]int64, 0, len(asked))
			twice := map[int]bool{}
			for _, i := range asked {
				if twice[i] {
					t.Errorf("target %d checked twice", i)
				}
				twice[i] = true
				askedIDs = append(askedIDs, ids[i])
			}

			recorded := testdb.Count(t, db, `SELECT count(*) FROM syncer.tracked_status_history WHERE run_id = $1`, roundRunID)
			if w.recorded >= 0 && recorded != int64(w.recorded) {
				t.Errorf("%d results recorded, want %d", recorded, w.recorded)
			}
			if n := testdb.Count(t, db, `SELECT count(*) FROM syncer.tracked_status_history WHERE target_id = ANY($1)`, askedIDs); n != recorded {
				t.Errorf("%d of the %d recorded results are of targets the provider was asked about", n, recorded)
			}
			if n := testdb.Count(t, db, `SELECT count(*) FROM syncer.tracked_targets WHERE last_checked_at = $1`, roundT0); n != recorded {
				t.Errorf("%d targets marked checked, %d results recorded", n, recorded)
			}
			if n := testdb.Count(t, db, `SELECT count(*) FROM syncer.tracked_targets WHERE natural_key IN ('tiktok:fresh', 'tiktok:removed') AND last_checked_at = $1`, roundT0); n != 0 {
				t.Errorf("%d targets that were not due were checked", n)
			}
			if n := testdb.Count(t, db, `SELECT count(*) FROM syncer.tracked_targets WHERE lease_until IS NOT NULL OR leased_by IS NOT NULL`); n != 0 {
				t.Errorf("%d targets left leased", n)
			}
			if n := testdb.Count(t, db, `SELECT count(*) FROM syncer.tracked_targets WHERE active AND last_checked_at < $1`, roundT0.Add(-time.Hour)); n != int64(tc.targets)-recorded {
				t.Errorf("%d targets still due, want the %d not recorded", n, int64(tc.targets)-recorded)
			}

			counts := run.Counts()
			var total int64
			for _, n := range counts {
				total += n
			}
			if total != recorded || run.rows != recorded {
				t.Errorf("the run counted %d results (%v) and %d rows, %d recorded", total, counts, run.rows, recorded)
			}
			if w.counts != nil && !maps.Equal(counts, w.counts) {
				t.Errorf("the run's counts %v, want %v", counts, w.counts)
			}
			if wantObserved := counts["found"] > 0; run.observed != wantObserved {
				t.Errorf("observed = %v, want %v (an answered check observes data)", run.observed, wantObserved)
			}
		})
	}
}
