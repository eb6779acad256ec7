package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"syncer/internal/store"
	"syncer/internal/testdb"
)

// readView reads a few rows of view on a connection of its own, within 1 s.
func readView(db *store.DB, view string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	var n int
	q := fmt.Sprintf(`SELECT count(*) FROM (SELECT * FROM bi.%s LIMIT 100) x`, pgx.Identifier{view}.Sanitize())
	if err := db.QueryRow(ctx, q).Scan(&n); err != nil {
		return fmt.Errorf("bi.%s: %w", view, err)
	}
	return nil
}

// pausingRows hands over its rows and, after the first, stops until
// released: a snapshot whose clients list is slow to come.
type pausingRows struct {
	sliceRows
	paused, release chan struct{}
}

func (r *pausingRows) Next() bool {
	if r.i == 1 {
		close(r.paused)
		<-r.release
	}
	return r.sliceRows.Next()
}

// A snapshot, however long it stays open, never takes a lock that a SELECT
// on a bi view waits for: every view answers within 1 s while a snapshot is
// in the middle of its clients list, and again after it wrote everything
// and before it commits. The snapshot is its agency's first of a new month
// (the one that used to create the month's partition in its transaction),
// closes periods and a day, and runs every statement mgid-balances runs.
func TestSnapshotNeverBlocksABIReader(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	views := biViews(t, db)
	march := time.Date(2026, 3, 31, 22, 0, 0, 0, time.UTC)
	writeSnapshot(t, db, 1, march, wallet(10, "a@x", "100", ""), wallet(11, "b@x", "10", "5"), wallet(12, "c@x", "1", "0"))
	april := time.Date(2026, 4, 1, 0, 15, 0, 0, time.UTC)
	ensureWalletMonths(t, db, april) // as mgid-balances does, in a transaction of its own

	rows := &pausingRows{
		sliceRows: sliceRows{rows: []store.ClientBalance{wallet(10, "a@x", "90", ""), wallet(11, "b2@x", "10", "5"), wallet(13, "d@x", "7", "")}},
		paused:    make(chan struct{}), release: make(chan struct{}),
	}
	written, hold := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	ctx := context.Background()
	go func() {
		done <- db.WithTx(ctx, func(tx *store.Tx) error {
			if err := tx.SetSetting(ctx, store.SettingMGIDTimezone, "UTC"); err != nil {
				return err
			}
			if err := tx.InsertAgencyBalance(ctx, store.AgencyBalance{AgencyID: 1, CapturedAt: april, RunID: 2}); err != nil {
				return err
			}
			if _, err := tx.CopyClientBalances(ctx, 1, april, rows); err != nil {
				return err
			}
			if n, err := tx.CloseBalanceDays(ctx, 1, april); err != nil || n != 1 {
				return fmt.Errorf("days closed %d: %v", n, err)
			}
			close(written)
			<-hold
			return nil
		})
	}()
	check := func(when string) {
		for _, v := range views {
			if err := readView(db, v); err != nil {
				t.Errorf("%s: %v", when, err)
			}
		}
	}
	<-rows.paused
	check("mid-list")
	close(rows.release)
	select {
	case <-written:
	case err := <-done:
		t.Fatalf("snapshot: %v", err)
	}
	check("written, not committed")
	close(hold)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got := walletLines(t, db, `SELECT client_id, email, balance FROM bi.mgid_client_balance_history WHERE captured_at = $1 ORDER BY 1`, april)
	if want := "10 a@x 90.00\n11 b2@x 10.00\n13 d@x 7.00"; got != want {
		t.Errorf("April's snapshot:\n%s\nwant\n%s", got, want)
	}
}

// The probe above can fail: a lock such as CREATE TABLE ... PARTITION OF
// takes on the history (AccessExclusive) makes the history view time out.
func TestReadViewTimesOutBehindAnExclusiveLock(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	locked, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- db.WithTx(ctx, func(tx *store.Tx) error {
			if _, err := tx.Exec(ctx, `LOCK TABLE syncer.mgid_client_wallet IN ACCESS EXCLUSIVE MODE`); err != nil {
				return err
			}
			close(locked)
			<-release
			return nil
		})
	}()
	<-locked
	err := readView(db, "mgid_client_balance_history")
	close(release)
	if err == nil {
		t.Error("bi.mgid_client_balance_history answered behind an AccessExclusiveLock")
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
