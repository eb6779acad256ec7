// Package store is syncer's Postgres layer: the pool, transactions, and one
// file per table family. Every SQL statement of the project lives here.
package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// dbtx runs a query on the pool or inside a transaction: what pgx's pool
// and pgx.Tx both offer.
type dbtx interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error)
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// DB is syncer's database: every query of the project is a method on it.
// A DB from Open runs each query on the connection pool; the Tx that WithTx
// hands its function runs them in that transaction, so the same method
// serves both (as river's executors do). Raw SQL (exec, query, queryRow,
// copyFrom, sendBatch) is unexported: the store is sealed, and a statement
// written anywhere else does not compile. Tests outside this package read
// and poke the database through internal/testdb, on a pool of its own.
//
// It also holds what it takes to open the dedicated connections advisory
// locks are held on (see lock.go).
type DB struct {
	q    querier       // the pool, or the transaction of WithTx
	pool *pgxpool.Pool // the pool either way

	lockConfig *pgx.ConnConfig
}

// querier is what both the pool and a transaction offer.
type querier interface {
	dbtx
	Begin(ctx context.Context) (pgx.Tx, error)
}

// exec, query, queryRow, copyFrom and sendBatch run on the pool, or in the
// transaction of WithTx.

func (db *DB) exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return db.q.Exec(ctx, sql, args...)
}

func (db *DB) query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return db.q.Query(ctx, sql, args...)
}

func (db *DB) queryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return notFoundRow{db.q.QueryRow(ctx, sql, args...)}
}

// ErrNotFound: the row asked for does not exist. It is the one way the
// store says so: pgx.ErrNoRows is translated to it here, once (every
// single-row read scans through notFoundRow), so no caller needs pgx to
// tell "absent" from "failed". ErrNotTracked is an ErrNotFound too.
var ErrNotFound = errors.New("not found")

// notFoundRow is a pgx.Row whose Scan says ErrNotFound for no row.
type notFoundRow struct{ pgx.Row }

func (r notFoundRow) Scan(dest ...any) error {
	err := r.Row.Scan(dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

// notFound is an ErrNotFound with its own wording (ErrNotTracked).
type notFound struct{ msg string }

func (e *notFound) Error() string        { return e.msg }
func (e *notFound) Is(target error) bool { return target == ErrNotFound }

func (db *DB) copyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error) {
	return db.q.CopyFrom(ctx, table, columns, src)
}

func (db *DB) sendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	return db.q.SendBatch(ctx, b)
}

// PoolStat is what the metrics show of the pool: pgx's figures in the
// store's own type, so a reader of them needs no pgx.
type PoolStat struct {
	Acquired, Idle, Max int32
	EmptyAcquires       int64         // acquires that had to wait for a connection
	EmptyAcquireWait    time.Duration // the time they waited, in all
}

// Stat is the pool's statistics (for metrics).
func (db *DB) Stat() PoolStat {
	s := db.pool.Stat()
	return PoolStat{Acquired: s.AcquiredConns(), Idle: s.IdleConns(), Max: s.MaxConns(),
		EmptyAcquires: s.EmptyAcquireCount(), EmptyAcquireWait: s.EmptyAcquireWaitTime()}
}

// MaxConns is the pool's size.
func (db *DB) MaxConns() int32 { return db.pool.Config().MaxConns }

// Tx is the store inside one transaction, the one WithTx hands its
// function: every DB method runs in it, and the methods that only mean
// something inside a transaction (a temporary table dropped at commit, a
// lock held until commit: UpsertSpend, ClaimDay, LockDay) are Tx's alone,
// so calling one outside WithTx does not compile.
type Tx struct {
	*DB
	tx pgx.Tx
}

// ConnClosed reports whether the transaction's connection has closed (was
// cut): an error then is the database's, whatever it says.
func (tx *Tx) ConnClosed() bool { return tx.tx.Conn().IsClosed() }

// ErrInvalidURL: DATABASE_URL does not parse. It never quotes the URL, which
// may hold a password.
var ErrInvalidURL = errors.New("DATABASE_URL: not a valid Postgres connection string")

// ErrPoolTooSmall: DATABASE_URL sets pool_max_conns below what the enabled
// jobs need when they all tick at once.
var ErrPoolTooSmall = errors.New("DATABASE_URL: pool_max_conns is too small for the enabled jobs")

// connectTimeout bounds opening a connection when DATABASE_URL does not set
// connect_timeout: without it a server that swallows packets holds a
// connect for as long as the kernel retries (minutes).
const connectTimeout = 10 * time.Second

// Open connects a pool to url and checks that the server answers.
func Open(ctx context.Context, url string) (*DB, error) {
	return OpenForJobs(ctx, url, 0, 0)
}

// OpenForJobs is Open for a process that may run jobs of them at once,
// holding up to conns pool connections together (an MGID agency job holds
// one per agency in flight, a backfill one per day; conns is at least jobs).
// Job locks live outside the pool. When DATABASE_URL leaves the size to
// pgx's default (4 on 2 cores), the pool is sized to conns+2 (one more for
// the scheduler's checks and the agency claims, one spare): a smaller one
// made agencies wait for a connection, and MGID_AGENCY_CONCURRENCY above 4
// gained nothing. An explicit pool_max_conns below jobs+1 is refused with
// ErrPoolTooSmall before anything runs; one below conns+2 is the operator's
// choice, and agencies then wait for a connection
// (syncer_db_pool_acquire_waits_total).
func OpenForJobs(ctx context.Context, url string, jobs, conns int) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's parse error may quote the URL, password included.
		return nil, ErrInvalidURL
	}
	conns = max(conns, jobs)
	if conns > 0 {
		explicit := strings.Contains(url, "pool_max_conns")
		switch want := int32(conns) + 2; {
		case explicit && cfg.MaxConns < int32(jobs)+1:
			return nil, fmt.Errorf("%w: it is %d; %d jobs are enabled, so set it to at least %d or leave it out",
				ErrPoolTooSmall, cfg.MaxConns, jobs, jobs+1)
		case !explicit && cfg.MaxConns < want:
			cfg.MaxConns = want
		}
	}
	return OpenConfig(ctx, cfg)
}

// OpenConfig is Open for a parsed configuration.
func OpenConfig(ctx context.Context, cfg *pgxpool.Config) (*DB, error) {
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = connectTimeout
	}
	cfg.AfterConnect = PrepareConn
	lockConfig := cfg.ConnConfig.Copy()
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to postgres: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, cfg.ConnConfig.ConnectTimeout+5*time.Second)
	defer cancel()
	if err := pool.Ping(pctx); err != nil {
		pool.Close()
		return nil, &DatabaseError{Op: fmt.Sprintf("connect to postgres at %s:%d", cfg.ConnConfig.Host, cfg.ConnConfig.Port), Err: err}
	}
	return &DB{q: pool, pool: pool, lockConfig: lockConfig}, nil
}

// PrepareConn readies a new connection as the store's own are readied (the
// numeric codec for money.Amount): the AfterConnect of a pool of the store's
// database that is not the store's, internal/testdb's.
func PrepareConn(_ context.Context, c *pgx.Conn) error {
	registerNumeric(c.TypeMap())
	return nil
}

// Close closes the pool.
func (db *DB) Close() { db.pool.Close() }

// rollbackTimeout bounds the deferred rollback, which runs without the
// caller's cancellation.
const rollbackTimeout = 5 * time.Second

// WithTx runs fn in a transaction, committing when fn returns nil. The
// rollback is deferred, so it also runs when fn panics (otherwise the
// connection would keep its open transaction and db.Close would wait for it
// forever), and it runs without the caller's cancellation, as river's dbutil
// does, so a cancelled run still releases its transaction cleanly. After a
// commit the rollback is a no-op.
//
// When ctx carries a run's fence (WithFence), the commit happens only if no
// other run of the job has started since: see checkFence. Called on a DB
// that is already in a transaction, it runs fn in a savepoint.
func (db *DB) WithTx(ctx context.Context, fn func(tx *Tx) error) error {
	tx, err := db.q.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
		defer cancel()
		_ = tx.Rollback(rctx)
	}()
	if err := fn(&Tx{DB: &DB{q: tx, pool: db.pool, lockConfig: db.lockConfig}, tx: tx}); err != nil {
		return err
	}
	if err := checkFence(ctx, tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// OpenSmall opens a pool of at most maxConns connections, whatever
// DATABASE_URL's pool_max_conns says: for readers that must never compete
// with the jobs for connections (the status page and /metrics).
func OpenSmall(ctx context.Context, url string, maxConns int32) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, ErrInvalidURL
	}
	cfg.MaxConns = maxConns
	cfg.MinConns = 0
	return OpenConfig(ctx, cfg)
}
