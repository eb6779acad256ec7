package store

import (
	"context"
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
	close func() error
}

// NewMigrations prepares goose on the pool.
func (db *DB) NewMigrations() (*Migrations, error) {
	sqlDB := stdlib.OpenDBFromPool(db.Pool)
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return nil, err
	}
	p, err := goose.NewProvider(goose.DialectPostgres, sqlDB, migrations.FS, goose.WithSessionLocker(locker))
	if err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return &Migrations{p: p, close: sqlDB.Close}, nil
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
	return nil
}

// Down rolls back the latest migration.
func (m *Migrations) Down(ctx context.Context, w io.Writer) error {
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
