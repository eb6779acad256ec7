package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"syncer/migrations"
)

// Migrations wraps a goose provider over the embedded migrations. A Postgres
// session lock serialises replicas that start at once: one migrates, the
// others wait and then find nothing to do.
type Migrations struct {
	p     *goose.Provider
	db    *sql.DB
	close func() error
}

// NewMigrations prepares goose on the pool.
func (db *DB) NewMigrations() (*Migrations, error) {
	sqlDB := stdlib.OpenDBFromPool(db.pool)
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return nil, err
	}
	p, err := goose.NewProvider(goose.DialectPostgres, sqlDB, migrations.FS, goose.WithSessionLocker(locker))
	if err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return &Migrations{p: p, db: sqlDB, close: sqlDB.Close}, nil
}

// Close releases the migration connection.
func (m *Migrations) Close() error { return m.close() }

// Up applies every pending migration and reports each on w.
func (m *Migrations) Up(ctx context.Context, w io.Writer) error {
	res, err := m.p.Up(ctx)
	for _, r := range res {
		fmt.Fprintf(w, "applied %s (%s)\n", r.Source.Path, r.Duration.Round(1e6))
	}
	if err != nil {
		return fmt.Errorf("migrate up: %w", err)
	}
	return m.walletMonthsAhead(ctx)
}

// walletMonthsAhead makes the partitions of closed wallet periods of this
// month and the WalletMonthsAhead after it, at every migrate (00015 made
// them once): mgid-balances also does before each run, and a snapshot itself
// never runs DDL.
func (m *Migrations) walletMonthsAhead(ctx context.Context) error {
	tx, err := m.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("wallet partitions ahead: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, `SET LOCAL lock_timeout = '5s'`); err != nil {
		return fmt.Errorf("wallet partitions ahead: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `
		SELECT syncer.mgid_wallet_partition(now() + n * interval '1 month') FROM generate_series(0, $1::int) n`, WalletMonthsAhead); err != nil {
		return fmt.Errorf("wallet partitions ahead: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("wallet partitions ahead: %w", err)
	}
	return nil
}

// ErrWouldDestroyData: the migration to roll back drops a table whose rows
// cannot be rebuilt from the providers; DownOptions.DestroyData allows it.
var ErrWouldDestroyData = errors.New("rolling back would drop data that cannot be fetched again")

// ErrTransfersOpen: the transfer journal holds in_flight or unknown
// transfers; dropping it would forget a payment whose outcome is not known.
var ErrTransfersOpen = errors.New("transfers are in flight or unknown")

// guardedDowns lists the migrations whose rollback drops data syncer cannot
// fetch again: the transfer journal is the guard against paying twice, and
// the tracked targets were imported by people.
var guardedDowns = map[int64]string{
	3: "syncer.tracked_targets and their status history",
	4: "syncer.mgid_transfers, the transfer journal",
}

// DownOptions qualify a rollback.
type DownOptions struct {
	DestroyData bool // allow dropping a table guardedDowns lists
}

// Down rolls back the latest migration. It refuses (nothing changes) to
// drop a table guardedDowns lists unless o.DestroyData, and refuses outright
// to drop the transfer journal while it holds an open transfer.
func (m *Migrations) Down(ctx context.Context, w io.Writer, o DownOptions) error {
	v, err := m.p.GetDBVersion(ctx)
	if err != nil {
		return fmt.Errorf("migrate down: %w", err)
	}
	if what, ok := guardedDowns[v]; ok {
		if v == 4 {
			var open int64
			if err := m.db.QueryRowContext(ctx, `
				SELECT count(*) FROM syncer.mgid_transfers WHERE status IN ('in_flight', 'unknown')`).Scan(&open); err != nil {
				return fmt.Errorf("migrate down: count open transfers: %w", err)
			}
			if open > 0 {
				return fmt.Errorf("migrate down: %w: %d transfers; settle them first (syncer mgid transfers reconcile, or resolve)", ErrTransfersOpen, open)
			}
		}
		if !o.DestroyData {
			return fmt.Errorf("migrate down: version %d drops %s: %w; pass --destroy-data to do it anyway", v, what, ErrWouldDestroyData)
		}
	}
	r, err := m.p.Down(ctx)
	if r != nil {
		fmt.Fprintf(w, "rolled back %s\n", r.Source.Path)
	}
	if err != nil {
		return fmt.Errorf("migrate down: %w", err)
	}
	return nil
}

// DownTo rolls back every migration newer than version.
func (m *Migrations) DownTo(ctx context.Context, version int64, w io.Writer) error {
	res, err := m.p.DownTo(ctx, version)
	for _, r := range res {
		fmt.Fprintf(w, "rolled back %s\n", r.Source.Path)
	}
	if err != nil {
		return fmt.Errorf("migrate down to %d: %w", version, err)
	}
	return nil
}

// Status prints each migration and whether it is applied.
func (m *Migrations) Status(ctx context.Context, w io.Writer) error {
	st, err := m.p.Status(ctx)
	if err != nil {
		return fmt.Errorf("migrate status: %w", err)
	}
	for _, s := range st {
		at := "pending"
		if s.State == goose.StateApplied {
			at = "applied " + s.AppliedAt.Format("2006-01-02 15:04:05Z07:00")
		}
		fmt.Fprintf(w, "%-40s %s\n", s.Source.Path, at)
	}
	return nil
}
