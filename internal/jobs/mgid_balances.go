package jobs

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"syncer/internal/config"
	"syncer/internal/providers"
	"syncer/internal/providers/mgid"
	"syncer/internal/store"
)

// MGIDWallets is what the balances job needs of an MGID agency client.
type MGIDWallets interface {
	MGIDAgency
	AccountID(ctx context.Context) (int64, error) // logs in when needed
	Agency(ctx context.Context) (mgid.AgencyBalance, error)
	Clients(ctx context.Context, restart func() error, fn func(mgid.ClientWallet) error) error
}

// TxRunner opens transactions.
type TxRunner interface {
	WithTx(ctx context.Context, fn func(tx *store.Tx) error) error
}

// BalancesStore is what the balances job needs of the database.
// (the month's partitions are made in a transaction of its own, via WithTx).
type BalancesStore interface {
	AgencyStore
	PackWalletIndexes(ctx context.Context, now time.Time) ([]string, error)
}

// MGIDBalances snapshots every agency's wallets and every client's wallet,
// each agency on its own (agencies.go).
type MGIDBalances struct {
	Agencies []MGIDWallets
	DB       BalancesStore
	Now      func() time.Time
	// Location is MGID_TIMEZONE (default UTC): the daily balance rows count
	// days in it, so the job publishes it to the database on every run.
	Location *time.Location
	// Parallel is how many agencies a process snapshots at once
	// (default DefaultAgencyParallel).
	Parallel int
	Observer AgencyObserver
}

func (j *MGIDBalances) Name() string { return config.JobMGIDBalances }

// Run writes one snapshot per agency, each in its own transaction with its
// own captured_at: a failure leaves no partial snapshot of that agency and
// touches no other.
func (j *MGIDBalances) Run(ctx context.Context, run *Run) error {
	zone := time.UTC
	if j.Location != nil {
		zone = j.Location
	}
	if err := j.DB.WithTx(ctx, func(tx *store.Tx) error {
		return tx.SetSetting(ctx, store.SettingMGIDTimezone, zone.String())
	}); err != nil {
		return err
	}
	// The month's partition (and the next ones) before any agency's snapshot,
	// in a transaction of its own: a snapshot runs no DDL, so it never holds a
	// lock a dashboard's SELECT waits for, and agencies in parallel never race
	// to create it. Normally a catalog lookup; made at migrate, months ahead,
	// so a failure here is a warning, not the run's.
	if err := j.DB.WithTx(ctx, func(tx *store.Tx) error {
		made, err := tx.EnsureWalletPartitions(ctx, j.now().UTC())
		if len(made) > 0 {
			run.Log.Info("wallet partitions created", "partitions", made)
		}
		return err
	}); err != nil {
		run.Log.Warn("wallet partitions ahead not created", "err", err)
	}
	agencies := make([]MGIDAgency, len(j.Agencies))
	for i, a := range j.Agencies {
		agencies[i] = a
	}
	round := &agencyRound{job: j.Name(), db: j.DB, agencies: agencies, parallel: j.parallel(), observer: j.Observer,
		work: func(ctx context.Context, i int, u *agencyUnit) error {
			return j.snapshot(providers.WithAccountLogger(ctx, u.log), j.Agencies[i], u)
		}}
	err := round.do(ctx, run)
	j.packWallet(ctx, run)
	return err
}

// packWallet rebuilds the wallet index of a month that has ended, once
// (store.PackWalletIndexes): normally nothing to do, once a month a minute's
// work that blocks no reader or snapshot. After the snapshots, so they are
// never late for it; a failure is a warning, and the next run tries again.
func (j *MGIDBalances) packWallet(ctx context.Context, run *Run) {
	if ctx.Err() != nil {
		return
	}
	t0 := time.Now()
	packed, err := j.DB.PackWalletIndexes(ctx, j.now())
	if len(packed) > 0 {
		run.Log.Info("wallet indexes of ended months rebuilt", "partitions", packed, "took", time.Since(t0).Round(time.Millisecond))
	}
	if err != nil {
		run.Log.Warn("wallet indexes of ended months not rebuilt; the next run retries", "err", err)
	}
}

// snapshot is one agency's snapshot, in its own transaction.
func (j *MGIDBalances) snapshot(ctx context.Context, a MGIDWallets, u *agencyUnit) error {
	// Postgres keeps microseconds; truncating keeps the key we write equal to the one we read.
	capturedAt := j.now().UTC().Truncate(time.Microsecond)
	return j.DB.WithTx(ctx, func(tx *store.Tx) error {
		agencyID, err := a.AccountID(ctx)
		if err != nil {
			return err
		}
		u.agencyID = agencyID
		// The agency's own balances are asked for while the clients list
		// streams: one round trip to MGID less per snapshot (a quarter of an
		// agency's first snapshot of 100,000 clients behind a 250 ms API;
		// BENCHMARKS.md, "Issue 14/15: append-only wallet"). Its failure
		// stops the list and is the one reported, as when it came first.
		bal, n, err := overlapAgency(ctx, a, func(ctx context.Context) (int64, error) {
			return copyClients(ctx, u.run, tx, a, agencyID, capturedAt)
		})
		if err != nil {
			return err
		}
		if bal.AgencyID != agencyID {
			return &providers.Error{Provider: "mgid", Op: fmt.Sprintf("agency %d", agencyID), Kind: providers.Malformed,
				Err: fmt.Errorf("answer is for agency %d", bal.AgencyID)}
		}
		if err := tx.InsertAgencyBalance(ctx, store.AgencyBalance{
			AgencyID: bal.AgencyID, CapturedAt: capturedAt, RunID: u.run.ID,
			Personal: bal.Personal, Bonus: bal.Bonus, ClientsBalance: bal.ClientsBalance,
		}); err != nil {
			return err
		}
		// The first snapshot of a day writes the daily rows of the day before.
		days, err := tx.CloseBalanceDays(ctx, bal.AgencyID, capturedAt)
		if err != nil {
			return err
		}
		u.rows, u.observed = n+1, true
		if err := u.seal(ctx, tx); err != nil {
			return err
		}
		u.log.Info("agency snapshot", "agency_id", bal.AgencyID, "clients", n, "days_closed", days)
		return nil
	})
}

// overlapAgency reads the agency's balances on a goroutine while clients
// runs. An Agency failure cancels clients and wins over clients' error (the
// cancellation it caused, or one of its own met meanwhile).
func overlapAgency(ctx context.Context, a MGIDWallets, clients func(context.Context) (int64, error)) (mgid.AgencyBalance, int64, error) {
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type answer struct {
		bal mgid.AgencyBalance
		err error
	}
	got := make(chan answer, 1)
	go func() {
		bal, err := a.Agency(ctx)
		if err != nil {
			cancel()
		}
		got <- answer{bal, err}
	}()
	n, err := clients(cctx)
	ag := <-got // Agency has its own deadlines (the MGID client's request timeout and ctx)
	if ag.err != nil {
		return mgid.AgencyBalance{}, 0, ag.err
	}
	return ag.bal, n, err
}

func (j *MGIDBalances) parallel() int {
	if j.Parallel > 0 {
		return j.Parallel
	}
	return DefaultAgencyParallel
}

func (j *MGIDBalances) now() time.Time {
	if j.Now != nil {
		return j.Now()
	}
	return time.Now()
}

// copyClients overlaps the two slow halves: a goroutine decodes the clients
// list off the wire while COPY sends the rows already decoded. Batches keep
// the channel cheap; at most a few batches are in memory at once.
//
// When the list breaks off midway, the MGID client asks for it again within
// its retry budget and restarts the stream: the COPY under way is abandoned,
// rolled back to a savepoint, and a new COPY takes the list from its start,
// so no client is written twice.
//
// An email Postgres cannot store (a NUL, invalid UTF-8) is stored with
// U+FFFD in place of each bad character: counted in the run's detail
// (replaced_characters) and logged at WARN once per run. Invalid UTF-8 was
// replaced by the MGID client's decoder already, which counts it.
func copyClients(ctx context.Context, run *Run, tx *store.Tx, a MGIDWallets, agencyID int64, capturedAt time.Time) (int64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rows := &walletStream{batches: make(chan []store.ClientBalance, 4), done: make(chan struct{})}
	go rows.produce(ctx, a)
	defer func() {
		cancel()
		<-rows.done // the producer has stopped before we return
	}()
	for {
		var n int64
		restart := false
		err := tx.WithTx(ctx, func(sp *store.Tx) (err error) { // a savepoint
			n, err = sp.CopyClientBalances(ctx, agencyID, capturedAt, rows)
			restart = err != nil && rows.restarted()
			return err
		})
		if restart {
			continue
		}
		if errors.Is(err, store.ErrClientListedTwice) {
			// The provider's answer is at fault, not the database.
			return n, &providers.Error{Provider: "mgid", Op: fmt.Sprintf("clients of agency %d", agencyID), Kind: providers.Malformed, Err: err}
		}
		if err != nil {
			if perr := rows.Err(); perr != nil {
				return n, perr // the provider's failure is the cause, COPY's error only its echo
			}
			if tx.ConnClosed() {
				// pgconn returns a connection cut mid-COPY as a bare
				// io.ErrUnexpectedEOF at times: the connection is what failed.
				return n, &store.DatabaseError{Op: "copy client balances", Err: err}
			}
			return n, err
		}
		if r := rows.replaced.Load(); r > 0 {
			if run.Counts()[replacedKey] == 0 {
				run.Log.Warn("client emails held characters Postgres cannot store; stored as U+FFFD",
					"agency_id", agencyID, "characters", r, "first_client_id", rows.firstReplaced.Load())
			}
			run.Count(replacedKey, r)
		}
		return n, nil
	}
}

// replacedKey counts, in a run's detail, the characters of provider strings
// stored as U+FFFD.
const replacedKey = "replaced_characters"

const walletBatch = 1024

// walletStream hands decoded clients to COPY. A nil batch on the channel is
// the producer saying the list starts over.
type walletStream struct {
	batches chan []store.ClientBalance
	done    chan struct{}
	mu      sync.Mutex
	err     error // the producer's failure; pgx may ask for it at any time

	cur        []store.ClientBalance
	i          int
	restarting bool // Next met the restart mark; COPY ends with errRestart

	replaced      atomic.Int64 // characters of this list's emails replaced by U+FFFD
	firstReplaced atomic.Int64 // the first client with one, for the log
}

var errRestart = errors.New("the clients list starts over")

func (s *walletStream) produce(ctx context.Context, a MGIDWallets) {
	defer close(s.done)
	defer close(s.batches)
	batch := make([]store.ClientBalance, 0, walletBatch)
	send := func(b []store.ClientBalance) error {
		select {
		case s.batches <- b:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	restart := func() error {
		batch = make([]store.ClientBalance, 0, walletBatch)
		s.replaced.Store(0)
		s.firstReplaced.Store(0)
		return send(nil)
	}
	err := a.Clients(ctx, restart, func(c mgid.ClientWallet) error {
		email, bad := store.StorableText(c.Email)
		bad += c.InvalidUTF8 // replaced while decoding
		if bad > 0 {
			s.firstReplaced.CompareAndSwap(0, c.ID)
			s.replaced.Add(int64(bad))
		}
		batch = append(batch, store.ClientBalance{
			ClientID: c.ID, Email: email, Balance: c.Balance, Credit: c.Credit, Income: c.Income,
		})
		if len(batch) == walletBatch {
			err := send(batch)
			batch = make([]store.ClientBalance, 0, walletBatch)
			return err
		}
		return nil
	})
	if err == nil && len(batch) > 0 {
		err = send(batch)
	}
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
}

func (s *walletStream) Next() bool {
	s.i++
	for s.i > len(s.cur) {
		b, ok := <-s.batches
		if !ok {
			return false
		}
		if b == nil {
			s.cur, s.i, s.restarting = nil, 0, true
			return false
		}
		s.cur, s.i = b, 1
	}
	return true
}

// restarted reports (once) whether the last COPY ended because the list
// starts over. Called after CopyFrom returned, when pgx no longer reads s.
func (s *walletStream) restarted() bool {
	r := s.restarting
	s.restarting = false
	return r
}

func (s *walletStream) Row() store.ClientBalance { return s.cur[s.i-1] }

func (s *walletStream) Err() error {
	if s.restarting {
		return errRestart
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return fmt.Errorf("clients list: %w", s.err)
	}
	return nil
}
