package store_test

import (
	"fmt"
	"testing"
	"time"

	"syncer/internal/store"
	"syncer/internal/testdb"
)

// historyByPeriods is bi.mgid_client_balance_history as migration 00007
// defined it: every period joined to the snapshots inside it. 00031 turned
// the view around (each snapshot looks up its period) so that a time filter
// reaches the periods; the rows must be the same. (The email falls back to
// mgid_client's as in 00033, since the email history starts at a change.)
const historyByPeriods = `
SELECT c.agency_id, c.client_id,
       coalesce((SELECT e.email FROM syncer.mgid_client_email e
                 WHERE e.client_key = p.client_key AND e.valid_from <= s.captured_at
                 ORDER BY e.valid_from DESC LIMIT 1), c.email) AS email,
       s.captured_at, p.balance, p.credit, p.income
FROM syncer.mgid_client_period p
JOIN syncer.mgid_client c ON c.client_key = p.client_key
JOIN syncer.mgid_agency_balance s
  ON s.agency_id = c.agency_id AND s.captured_at >= p.valid_from AND s.captured_at < p.valid_to`

// Three months of 6-hourly snapshots of two agencies, across three monthly
// partitions: balances that change or stay, a client that leaves twice and
// comes back, one that arrives late, one that leaves for good, an email
// change, a credit that comes and goes.
func TestHistoryViewMatchesThePeriodJoin(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	start := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	n := 0
	for at := start; at.Before(time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)); at = at.Add(6 * time.Hour) {
		var clients []store.ClientBalance
		// 10: changes every fourth snapshot.
		clients = append(clients, wallet(10, "a@x", fmt.Sprint(100+n/4), ""))
		// 11: away for snapshots 40-59 and 200-209; credit from snapshot 100.
		if !(n >= 40 && n < 60) && !(n >= 200 && n < 210) {
			credit := ""
			if n >= 100 {
				credit = "5"
			}
			clients = append(clients, wallet(11, "b@x", fmt.Sprint(50+n%3), credit))
		}
		// 12: arrives at snapshot 150, its email changes at 250.
		if n >= 150 {
			email := "c@x"
			if n >= 250 {
				email = "c2@x"
			}
			clients = append(clients, wallet(12, email, "7", "1"))
		}
		// 13: leaves for good at snapshot 90.
		if n < 90 {
			clients = append(clients, wallet(13, "d@x", "1", "0"))
		}
		writeSnapshot(t, db, 1, at, clients...)
		// Agency 2 snapshots every other time, with a client id shared with agency 1.
		if n%2 == 0 {
			writeSnapshot(t, db, 2, at.Add(time.Minute), wallet(10, "z@x", fmt.Sprint(n%5), ""))
		}
		n++
	}

	cols := "agency_id, client_id, email, captured_at, balance, credit, income"
	for _, where := range []string{
		"true",
		"captured_at > '2026-03-20'",
		"captured_at >= '2026-02-11' AND captured_at < '2026-02-16'",
		"agency_id = 1 AND client_id = 11",
		"agency_id = 1 AND client_id = 11 AND captured_at > '2026-03-01' AND captured_at <= '2026-04-05'",
		"client_id = 12 AND captured_at > '2026-04-01'",
		"client_id = 13",
	} {
		var total, missing, extra int64
		q := fmt.Sprintf(`SELECT (SELECT count(*) FROM bi.mgid_client_balance_history WHERE %[2]s),
			(SELECT count(*) FROM (SELECT %[1]s FROM (%[3]s) old WHERE %[2]s EXCEPT ALL SELECT %[1]s FROM bi.mgid_client_balance_history WHERE %[2]s) d),
			(SELECT count(*) FROM (SELECT %[1]s FROM bi.mgid_client_balance_history WHERE %[2]s EXCEPT ALL SELECT %[1]s FROM (%[3]s) old WHERE %[2]s) d)`,
			cols, where, historyByPeriods)
		if err := testdb.QueryRow(t, db, q).Scan(&total, &missing, &extra); err != nil {
			t.Fatal(err)
		}
		if total == 0 || missing != 0 || extra != 0 {
			t.Errorf("WHERE %s: %d rows in the view, %d of the period join's missing, %d extra", where, total, missing, extra)
		}
	}
	// A spot check by hand: client 11 was away at snapshot 45 and back at 60.
	var away, back int64
	at45, at60 := start.Add(45*6*time.Hour), start.Add(60*6*time.Hour)
	if err := testdb.QueryRow(t, db, `SELECT
		(SELECT count(*) FROM bi.mgid_client_balance_history WHERE agency_id = 1 AND client_id = 11 AND captured_at = $1),
		(SELECT count(*) FROM bi.mgid_client_balance_history WHERE agency_id = 1 AND client_id = 11 AND captured_at = $2)`, at45, at60).Scan(&away, &back); err != nil {
		t.Fatal(err)
	}
	if away != 0 || back != 1 {
		t.Errorf("client 11: %d rows while away, %d on its return; want 0 and 1", away, back)
	}
}
