package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// ErrClientListedTwice: a snapshot lists one client twice. Such an answer is
// the provider's fault, not the database's: the caller reports it as a
// malformed answer.
var ErrClientListedTwice = errors.New("a client is listed twice in one snapshot")

// CopyClientBalances records a snapshot of one agency's client wallets. The
// agency's row for capturedAt (InsertAgencyBalance) must be written first in
// the same transaction: it is the snapshot index the history is read through.
// It returns the clients listed.
//
// Nothing proportional to the list is held in Go: the rows stream by COPY
// into a temporary staging table and the diff against each client's open
// period (syncer.mgid_client) is one set-based statement in Postgres. A
// client whose wallet differs, or who is missing from the snapshot, has its
// period closed (inserted into the month's partition of
// syncer.mgid_client_wallet) and, if listed, a new one opened; an unchanged
// client is not written. An agency's first snapshot skips the staging table:
// its rows are COPYed straight into syncer.mgid_client.
//
// It runs no DDL (the month's partition must exist: EnsureWalletPartitions,
// in a transaction of its own) and takes no lock a SELECT waits for. Text
// Postgres cannot hold (NUL, invalid UTF-8) is stored as U+FFFD
// (StorableText). A snapshot that lists a client twice is refused with
// ErrClientListedTwice. Writers of one agency are serialised by the job
// lock; should another slip in, the update finds open periods that are not
// the ones diffed against and fails, so the transaction rolls back instead of
// losing a period.
func (db *DB) CopyClientBalances(ctx context.Context, agencyID int64, capturedAt time.Time, rows ClientBalanceRows) (int64, error) {
	var ready, known bool
	if err := db.queryRow(ctx, `
		SELECT syncer.mgid_wallet_partition_exists($2),
		       EXISTS (SELECT 1 FROM syncer.mgid_client WHERE agency_id = $1)`, agencyID, capturedAt).Scan(&ready, &known); err != nil {
		return 0, fmt.Errorf("client balances of agency %d: %w", agencyID, err)
	}
	if !ready {
		return 0, fmt.Errorf("client balances of agency %d: the wallet history has no partition for %s; it is created ahead at migrate and before each mgid-balances run (EnsureWalletPartitions)",
			agencyID, capturedAt.UTC().Format("2006-01"))
	}
	if !known {
		return db.copyFirstSnapshot(ctx, agencyID, capturedAt, rows)
	}
	// ON COMMIT DELETE ROWS: the tables outlive the transaction on this
	// connection, so later snapshots skip the catalog work of creating them
	// again; TRUNCATE empties them between agencies of one transaction.
	if _, err := db.exec(ctx, walletStageSQL); err != nil {
		return 0, fmt.Errorf("client balances staging of agency %d: %w", agencyID, err)
	}
	src := &walletSource{rows: rows, last: math.MinInt64, ascending: true}
	n, err := db.copyFrom(ctx, pgx.Identifier{"mgid_wallet_stage"},
		[]string{"client_id", "email", "balance", "credit", "income"}, src)
	if err != nil {
		if rerr := rows.Err(); rerr != nil {
			return n, rerr
		}
		return n, fmt.Errorf("copy client balances of agency %d: %w", agencyID, err)
	}
	if !src.ascending {
		// Ascending ids cannot repeat; others are checked here, where the
		// list is, rather than in a set of every id in Go.
		var dup int64
		err := db.queryRow(ctx, `SELECT client_id FROM mgid_wallet_stage GROUP BY client_id HAVING count(*) > 1 LIMIT 1`).Scan(&dup)
		if err == nil {
			return n, fmt.Errorf("client balances of agency %d: client %d: %w", agencyID, dup, ErrClientListedTwice)
		}
		if !errors.Is(err, ErrNotFound) {
			return n, fmt.Errorf("client balances of agency %d: %w", agencyID, err)
		}
	}
	// The list and the open periods hashed whole in one pass: with the
	// default 4 MB the hash of 200,000 clients spilled to 4 batches on disk.
	if _, err := db.exec(ctx, `SET LOCAL work_mem = '64MB'`); err != nil {
		return n, fmt.Errorf("record client balances of agency %d: %w", agencyID, err)
	}
	if _, err := db.exec(ctx, walletDiffSQL, agencyID); err != nil {
		return n, fmt.Errorf("diff client balances of agency %d: %w", agencyID, err)
	}
	// The changes touch a few of the agency's rows, found by key; the
	// planner, not knowing how few, hashed the whole clients table again
	// (measured 3x slower at the simulator's change rate).
	if _, err := db.exec(ctx, `SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off`); err != nil {
		return n, fmt.Errorf("record client balances of agency %d: %w", agencyID, err)
	}
	var diffed, updated int64
	if err := db.queryRow(ctx, walletWriteSQL, agencyID, capturedAt).Scan(&diffed, &updated); err != nil {
		return n, fmt.Errorf("record client balances of agency %d: %w", agencyID, err)
	}
	if _, err := db.exec(ctx, `RESET work_mem; RESET enable_hashjoin; RESET enable_mergejoin`); err != nil {
		return n, fmt.Errorf("record client balances of agency %d: %w", agencyID, err)
	}
	if updated != diffed {
		return n, fmt.Errorf("record client balances of agency %d: %d of %d clients were changed by another writer since they were read; nothing written",
			agencyID, diffed-updated, diffed)
	}
	return n, nil
}

// copyFirstSnapshot writes an agency's first snapshot: every client is new,
// so there is nothing to diff and the rows go by COPY straight into
// syncer.mgid_client. No email history is written: a client's email history
// starts at its first change (walletWriteSQL, migration 00033). A client
// listed twice trips the table's unique key.
func (db *DB) copyFirstSnapshot(ctx context.Context, agencyID int64, capturedAt time.Time, rows ClientBalanceRows) (int64, error) {
	src := &walletSource{rows: rows, agencyID: agencyID, at: capturedAt, last: math.MinInt64, ascending: true}
	n, err := db.copyFrom(ctx, pgx.Identifier{"syncer", "mgid_client"},
		[]string{"agency_id", "client_id", "email", "first_seen_at", "last_seen_at", "present", "since", "balance", "credit", "income"}, src)
	if err != nil {
		if rerr := rows.Err(); rerr != nil {
			return n, rerr
		}
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "23505" && pe.ConstraintName == "mgid_client_agency_id_client_id_key" {
			return n, fmt.Errorf("client balances of agency %d: %s: %w", agencyID, pe.Detail, ErrClientListedTwice)
		}
		return n, fmt.Errorf("copy client balances of agency %d: %w", agencyID, err)
	}
	return n, nil
}

// walletSource feeds a snapshot's rows to COPY, one at a time: into the
// staging table (agencyID 0), or straight into syncer.mgid_client for a
// first snapshot. It notes whether the ids came in ascending order.
type walletSource struct {
	rows      ClientBalanceRows
	agencyID  int64
	at        time.Time
	last      int64
	ascending bool
	vals      [10]any
}

func (s *walletSource) Next() bool { return s.rows.Next() }
func (s *walletSource) Err() error { return s.rows.Err() }

func (s *walletSource) Values() ([]any, error) {
	r := s.rows.Row()
	if r.ClientID <= s.last {
		s.ascending = false
	}
	s.last = r.ClientID
	email, _ := StorableText(r.Email)
	var credit any
	if r.Credit != nil {
		credit = *r.Credit
	}
	if s.agencyID == 0 {
		s.vals[0], s.vals[1], s.vals[2], s.vals[3], s.vals[4] = r.ClientID, email, r.Balance, credit, r.Income
		return s.vals[:5], nil
	}
	s.vals = [10]any{s.agencyID, r.ClientID, email, s.at, s.at, true, s.at, r.Balance, credit, r.Income}
	return s.vals[:], nil
}

// walletStageSQL: the staged list, and the diff of it against the open
// periods (walletDiffSQL).
const walletStageSQL = `
CREATE TEMP TABLE IF NOT EXISTS mgid_wallet_stage (
    client_id bigint NOT NULL, email text NOT NULL,
    balance numeric(18,4), credit numeric(18,4), income numeric(18,4)
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS mgid_wallet_diff (
    client_key integer, old_since timestamptz, old_present boolean,
    old_balance numeric(18,4), old_credit numeric(18,4), old_income numeric(18,4),
    listed boolean NOT NULL, client_id bigint NOT NULL, email text NOT NULL,
    balance numeric(18,4), credit numeric(18,4), income numeric(18,4),
    wallet_changed boolean NOT NULL, email_changed boolean NOT NULL
) ON COMMIT DELETE ROWS;
TRUNCATE mgid_wallet_stage, mgid_wallet_diff`

// walletDiffSQL keeps, of the staged snapshot of agency $1, every client
// whose row must change: listed and new, listed with another wallet or
// email, listed again after a gap, or present and no longer listed. One
// hash full join of the list with the agency's clients.
const walletDiffSQL = `
INSERT INTO mgid_wallet_diff
SELECT c.client_key, c.since, c.present, c.balance, c.credit, c.income,
       s.client_id IS NOT NULL, coalesce(s.client_id, c.client_id), coalesce(s.email, c.email),
       s.balance, s.credit, s.income,
       c.client_key IS NULL OR NOT c.present
         OR (s.balance, s.credit, s.income) IS DISTINCT FROM (c.balance, c.credit, c.income),
       c.email IS DISTINCT FROM s.email
FROM mgid_wallet_stage s
FULL JOIN (SELECT * FROM syncer.mgid_client WHERE agency_id = $1) c ON c.client_id = s.client_id
WHERE CASE WHEN s.client_id IS NULL THEN c.present
           WHEN c.client_key IS NULL THEN true
           ELSE NOT c.present OR c.email <> s.email
                OR (s.balance, s.credit, s.income) IS DISTINCT FROM (c.balance, c.credit, c.income) END`

// walletWriteSQL writes the diff of agency $1's snapshot at $2 in one
// statement:
//   - closed: the open periods that end at this snapshot, appended to the
//     month's partition;
//   - updated: the known clients' rows, matched only while their open period
//     is still the one diffed against (since, present): the caller compares
//     the count with the diff's to tell a concurrent writer from success;
//   - added: the new clients;
//   - emails: the email history, written only when an email changes (00033):
//     the new email, and on a client's first change also the email it had
//     since it was first seen, which until then only mgid_client held.
//
// It returns the known clients in the diff and the rows updated.
const walletWriteSQL = `
WITH prev AS (
    SELECT max(a.captured_at) AS at FROM syncer.mgid_agency_balance a
    WHERE a.agency_id = $1 AND a.captured_at < $2
), closed AS (
    INSERT INTO syncer.mgid_client_wallet (client_key, valid_from, valid_to, balance, credit, income)
    SELECT client_key, old_since, $2, old_balance, old_credit, old_income FROM mgid_wallet_diff
    WHERE client_key IS NOT NULL AND old_present AND (NOT listed OR wallet_changed)
), updated AS (
    UPDATE syncer.mgid_client c
    SET email = d.email,
        present = d.listed,
        last_seen_at = CASE WHEN d.listed THEN c.last_seen_at ELSE (SELECT at FROM prev) END,
        since = CASE WHEN d.listed AND d.wallet_changed THEN $2 ELSE c.since END,
        balance = CASE WHEN d.listed THEN d.balance ELSE c.balance END,
        credit = CASE WHEN d.listed THEN d.credit ELSE c.credit END,
        income = CASE WHEN d.listed THEN d.income ELSE c.income END
    FROM mgid_wallet_diff d
    WHERE d.client_key IS NOT NULL AND c.client_key = d.client_key
      AND c.agency_id = $1 AND c.since = d.old_since AND c.present = d.old_present
    RETURNING 1
), added AS (
    INSERT INTO syncer.mgid_client (agency_id, client_id, email, first_seen_at, last_seen_at, present, since, balance, credit, income)
    SELECT $1, client_id, email, $2, $2, true, $2, balance, credit, income
    FROM mgid_wallet_diff WHERE client_key IS NULL
    ORDER BY client_id
), emails AS (
    INSERT INTO syncer.mgid_client_email (client_key, valid_from, email)
    SELECT client_key, $2, email FROM mgid_wallet_diff WHERE client_key IS NOT NULL AND listed AND email_changed
    UNION ALL
    -- Every CTE reads mgid_client as it was before this statement: c.email
    -- is the email held since first_seen_at when no history row exists.
    SELECT c.client_key, c.first_seen_at, c.email
    FROM mgid_wallet_diff d JOIN syncer.mgid_client c ON c.client_key = d.client_key
    WHERE d.client_key IS NOT NULL AND d.listed AND d.email_changed
      AND NOT EXISTS (SELECT 1 FROM syncer.mgid_client_email e WHERE e.client_key = d.client_key)
)
SELECT (SELECT count(*) FROM mgid_wallet_diff WHERE client_key IS NOT NULL), (SELECT count(*) FROM updated)`
