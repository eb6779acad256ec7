package store_test

import (
	"testing"
	"time"

	"syncer/internal/testdb"
)

// The email history holds changes only (00033): a first snapshot writes no
// row, a client's first change writes the email it had since first seen and
// the new one, a later change one row; the history view shows each snapshot
// the email of its time, from mgid_client while there is no history.
func TestEmailHistoryStartsAtTheFirstChange(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	t1 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	t2, t3, t4 := t1.Add(15*time.Minute), t1.Add(30*time.Minute), t1.Add(45*time.Minute)
	writeSnapshot(t, db, 1, t1, wallet(10, "a@x", "1", ""), wallet(11, "b@x", "1", ""))
	if n := testdb.Count(t, db, `SELECT count(*) FROM syncer.mgid_client_email`); n != 0 {
		t.Fatalf("after a first snapshot: %d email history rows, want 0", n)
	}
	writeSnapshot(t, db, 1, t2, wallet(10, "a@x", "1", ""), wallet(11, "b@x", "1", ""), wallet(12, "c@x", "1", ""))
	writeSnapshot(t, db, 1, t3, wallet(10, "a2@x", "1", ""), wallet(11, "b@x", "1", ""), wallet(12, "c@x", "1", ""))
	writeSnapshot(t, db, 1, t4, wallet(10, "a3@x", "1", ""), wallet(11, "b@x", "1", ""), wallet(12, "c@x", "1", ""))
	if got, want := walletLines(t, db, `SELECT c.client_id, e.valid_from, e.email FROM syncer.mgid_client_email e
		JOIN syncer.mgid_client c USING (client_key) ORDER BY 1, 2`),
		"10 03-01T10:00 a@x\n10 03-01T10:30 a2@x\n10 03-01T10:45 a3@x"; got != want {
		t.Errorf("email history:\n%s\nwant:\n%s", got, want)
	}
	if got, want := walletLines(t, db, `SELECT client_id, captured_at, email FROM bi.mgid_client_balance_history ORDER BY 1, 2`),
		"10 03-01T10:00 a@x\n10 03-01T10:15 a@x\n10 03-01T10:30 a2@x\n10 03-01T10:45 a3@x\n"+
			"11 03-01T10:00 b@x\n11 03-01T10:15 b@x\n11 03-01T10:30 b@x\n11 03-01T10:45 b@x\n"+
			"12 03-01T10:15 c@x\n12 03-01T10:30 c@x\n12 03-01T10:45 c@x"; got != want {
		t.Errorf("history emails:\n%s\nwant:\n%s", got, want)
	}
}
