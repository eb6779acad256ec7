package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"syncer/internal/store"
	"syncer/internal/testdb"
)

// A panic inside WithTx's fn: the deferred rollback releases the connection
// with no transaction open, so the pool's Close returns (before the fix it
// waited forever on the leaked connection) and nothing was committed.
func TestWithTxPanicReleasesTheConnection(t *testing.T) {
	t.Parallel()
	_, url := testdb.NewWithURL(t)
	db, err := store.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	func() {
		defer func() {
			if recover() == nil {
				t.Error("the panic did not come through WithTx")
			}
		}()
		_ = db.WithTx(ctx, func(tx *store.Tx) error {
			if _, err := tx.Exec(ctx, `INSERT INTO syncer.runs (job, trigger, replica) VALUES ('x', 'manual', 'test')`); err != nil {
				t.Errorf("insert: %v", err)
			}
			panic("boom")
		})
	}()
	var n int64
	if err := db.QueryRow(ctx, `SELECT count(*) FROM syncer.runs`).Scan(&n); err != nil || n != 0 {
		t.Errorf("after the panic: %d rows committed (%v)", n, err)
	}
	closed := make(chan struct{})
	go func() { db.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("db.Close() did not return after a panic in WithTx")
	}
}

// A cancelled context still rolls back (without the caller's
// cancellation), and the error is the caller's.
func TestWithTxCancelledRollsBack(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	err := db.WithTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO syncer.runs (job, trigger, replica) VALUES ('x', 'manual', 'test')`); err != nil {
			return err
		}
		cancel()
		return ctx.Err()
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
	var n int64
	if err := db.QueryRow(context.Background(), `SELECT count(*) FROM syncer.runs`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d rows committed by a cancelled transaction (%v)", n, err)
	}
	if s := db.Stat(); s.Acquired != 0 {
		t.Errorf("%d connections still acquired", s.Acquired)
	}
}
