package store

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pressly/goose/v3"
)

// Provider lets tests migrate to a given version.
func (m *Migrations) Provider() *goose.Provider { return m.p }

// Acquire lets tests take a pooled connection of their own (to change its
// role, then drop it).
func (db *DB) Acquire(ctx context.Context) (*pgxpool.Conn, error) { return db.pool.Acquire(ctx) }
