package store

// TEMPORARY: the Go diff this branch replaces, kept only to measure both side by side.

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"syncer/internal/money"
)

// CopyClientBalances records a snapshot of one agency's client wallets. The
// agency's row for capturedAt (InsertAgencyBalance) must be written first in
// the same transaction: it is the snapshot index the history is read through.
//
// Each client's open period (syncer.mgid_client) is read back in client
// order and the snapshot is compared with it in Go as it streams in; only
// what changed is written. A client whose wallet differs, or who is missing
// from the snapshot, has its period closed (COPYed into the month's
// partition of syncer.mgid_client_wallet) and, if listed, a new one opened;
// new, changed and vanished clients go by COPY into a small staging table
// and one statement updates or inserts their rows in syncer.mgid_client.
// An unchanged client costs one row read back and one comparison, where
// staging the whole snapshot in Postgres and joining it cost a COPY row and
// a hash probe (see BENCHMARKS.md). It returns the clients listed.
//
// A snapshot that lists a client twice is refused. Writers of one agency
// are serialised by the job lock; should another slip in between the read
// and the write, the update finds open periods that are not the ones read
// and fails, so the transaction rolls back instead of losing a period.
func (db *DB) copyClientBalancesGoDiff(ctx context.Context, agencyID int64, capturedAt time.Time, rows ClientBalanceRows) (int64, error) {
	// The month's partition of closed periods, created on its first snapshot.
	var partition string
	if err := db.QueryRow(ctx, `SELECT syncer.mgid_wallet_partition($1)`, capturedAt).Scan(&partition); err != nil {
		return 0, fmt.Errorf("wallet partition for %s: %w", capturedAt.Format(time.RFC3339), err)
	}
	open, err := db.openPeriods(ctx, agencyID)
	if err != nil {
		return 0, err
	}
	d := walletDiff{open: open, seen: make([]bool, len(open)), at: capturedAt}
	var n int64
	for rows.Next() {
		n++
		if err := d.add(rows.Row()); err != nil {
			return n, fmt.Errorf("client balances of agency %d: %w", agencyID, err)
		}
	}
	if err := rows.Err(); err != nil {
		return n, err
	}
	d.vanished()
	if len(d.closed) > 0 {
		if _, err := db.CopyFrom(ctx, pgx.Identifier{"syncer", partition},
			[]string{"client_key", "valid_from", "valid_to", "balance", "credit", "income"}, &closedSource{d: &d}); err != nil {
			return n, fmt.Errorf("close wallet periods of agency %d: %w", agencyID, err)
		}
	}
	if len(d.changes) > 0 {
		if err := db.applyClientChanges(ctx, agencyID, capturedAt, d.changes); err != nil {
			return n, err
		}
	}
	return n, nil
}

// openPeriod is a client's row in syncer.mgid_client as the diff needs it:
// flat values and one pointer (the email), so 200,000 of them are cheap to
// hold and to scan for the garbage collector.
type openPeriod struct {
	id      int64
	since   int64 // microseconds since 2000-01-01 UTC, as Postgres sends it
	amounts [3]int64
	email   string
	key     int32
	present bool
	null    uint8 // bit i: amounts[i] is NULL (balance, credit, income)
}

func (p *openPeriod) amount(i int) *money.Amount {
	if p.null&(1<<i) != 0 {
		return nil
	}
	a := money.FromUnits(p.amounts[i])
	return &a
}

// pgEpoch is the zero of Postgres' binary timestamps.
var pgEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

func (p *openPeriod) sinceTime() time.Time {
	return pgEpoch.Add(time.Duration(p.since) * time.Microsecond)
}

// openPeriods reads the agency's clients in client order (the unique index
// on (agency_id, client_id) gives them so, no sort). It decodes the binary
// row itself: pgx's Scan into pointers cost an allocation per NULL-able
// value and most of the time of a 200,000-client read.
func (db *DB) openPeriods(ctx context.Context, agencyID int64) ([]openPeriod, error) {
	rows, err := db.Query(ctx, `
		SELECT client_key, client_id, present, since, email, balance, credit, income
		FROM syncer.mgid_client WHERE agency_id = $1 ORDER BY client_id`, agencyID)
	if err != nil {
		return nil, fmt.Errorf("open wallet periods of agency %d: %w", agencyID, err)
	}
	defer rows.Close()
	for _, f := range rows.FieldDescriptions() {
		if f.Format != pgtype.BinaryFormatCode && f.DataTypeOID != pgtype.TextOID {
			return nil, fmt.Errorf("open wallet periods of agency %d: column %s not in binary format", agencyID, f.Name)
		}
	}
	var out []openPeriod
	for rows.Next() {
		v := rows.RawValues()
		if len(v) != 8 || len(v[0]) != 4 || len(v[1]) != 8 || len(v[2]) != 1 || len(v[3]) != 8 {
			return nil, fmt.Errorf("open wallet periods of agency %d: unexpected row layout", agencyID)
		}
		p := openPeriod{
			key: int32(binary.BigEndian.Uint32(v[0])), id: int64(binary.BigEndian.Uint64(v[1])),
			present: v[2][0] != 0, since: int64(binary.BigEndian.Uint64(v[3])), email: string(v[4]),
		}
		for i, raw := range v[5:] {
			if raw == nil {
				p.null |= 1 << i
				continue
			}
			if p.amounts[i], err = parseNumeric(raw); err != nil {
				return nil, fmt.Errorf("open wallet periods of agency %d: %w", agencyID, err)
			}
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("open wallet periods of agency %d: %w", agencyID, err)
	}
	return out, nil
}

// clientChange is one row of syncer.mgid_client to write: key 0 for a new
// client; listed false for one the snapshot no longer lists.
type clientChange struct {
	key           int32
	oldSince      time.Time // the open period read back, checked by the update
	oldPresent    bool
	listed        bool
	walletChanged bool
	emailChanged  bool
	row           ClientBalance
}

type walletDiff struct {
	open    []openPeriod
	seen    []bool
	next    int // where the next client is expected: snapshots come in client order
	at      time.Time
	closed  []int // indexes into open of the periods the snapshot closes
	changes []clientChange
}

func (d *walletDiff) find(id int64) (int, bool) {
	if d.next < len(d.open) && d.open[d.next].id == id {
		return d.next, true
	}
	return slices.BinarySearchFunc(d.open, id, func(p openPeriod, id int64) int { return cmp.Compare(p.id, id) })
}

func (d *walletDiff) add(r ClientBalance) error {
	i, ok := d.find(r.ClientID)
	if !ok {
		d.changes = append(d.changes, clientChange{listed: true, walletChanged: true, emailChanged: true, row: r})
		return nil
	}
	if d.seen[i] {
		return fmt.Errorf("client %d is listed twice in one snapshot", r.ClientID)
	}
	d.seen[i], d.next = true, i+1
	p := &d.open[i]
	walletChanged := !p.present || !p.same(0, &r.Balance) || !p.same(1, r.Credit) || !p.same(2, &r.Income)
	emailChanged := p.email != r.Email
	if walletChanged && p.present {
		d.closed = append(d.closed, i)
	}
	if walletChanged || emailChanged {
		d.changes = append(d.changes, clientChange{key: p.key, oldSince: p.sinceTime(), oldPresent: p.present,
			listed: true, walletChanged: walletChanged, emailChanged: emailChanged, row: r})
	}
	return nil
}

// vanished closes the open period of every present client the snapshot did
// not list.
func (d *walletDiff) vanished() {
	for i := range d.open {
		if p := &d.open[i]; !d.seen[i] && p.present {
			d.closed = append(d.closed, i)
			d.changes = append(d.changes, clientChange{key: p.key, oldSince: p.sinceTime(), oldPresent: true,
				row: ClientBalance{ClientID: p.id, Email: p.email}})
		}
	}
}

// same reports whether amount i equals a; NULL (not sent) equals only NULL,
// as IS NOT DISTINCT FROM.
func (p *openPeriod) same(i int, a *money.Amount) bool {
	if p.null&(1<<i) != 0 || a == nil {
		return p.null&(1<<i) != 0 && a == nil
	}
	return p.amounts[i] == a.Units()
}

// closedSource feeds the closed periods to COPY: each ends at the snapshot.
type closedSource struct {
	d    *walletDiff
	i    int
	vals [6]any
}

func (s *closedSource) Next() bool { s.i++; return s.i <= len(s.d.closed) }
func (s *closedSource) Err() error { return nil }
func (s *closedSource) Values() ([]any, error) {
	p := &s.d.open[s.d.closed[s.i-1]]
	s.vals = [6]any{p.key, p.sinceTime(), s.d.at, p.amount(0), p.amount(1), p.amount(2)}
	return s.vals[:], nil
}

// applyClientChanges writes the changed rows of syncer.mgid_client through
// a staging table: one update of the known clients, checked against the
// open periods read back, one insert of the new ones, and their emails.
func (db *DB) applyClientChanges(ctx context.Context, agencyID int64, capturedAt time.Time, changes []clientChange) error {
	// ON COMMIT DELETE ROWS: the table outlives the transaction on this
	// connection, so later runs skip the catalog work of creating it again.
	// TRUNCATE empties it between agencies of one transaction.
	if _, err := db.Exec(ctx, `
		CREATE TEMP TABLE IF NOT EXISTS mgid_client_change (
		    client_key integer, old_since timestamptz, old_present boolean,
		    listed boolean NOT NULL, wallet_changed boolean NOT NULL, email_changed boolean NOT NULL,
		    client_id bigint NOT NULL, email text NOT NULL,
		    balance numeric(18,4), credit numeric(18,4), income numeric(18,4)
		) ON COMMIT DELETE ROWS`); err != nil {
		return fmt.Errorf("client changes staging of agency %d: %w", agencyID, err)
	}
	if _, err := db.Exec(ctx, `TRUNCATE mgid_client_change`); err != nil {
		return fmt.Errorf("client changes staging of agency %d: %w", agencyID, err)
	}
	var known, added, emails int64
	vals := make([]any, 11)
	i := 0
	src := pgx.CopyFromFunc(func() ([]any, error) {
		if i == len(changes) {
			return nil, nil
		}
		c := &changes[i]
		i++
		vals[0], vals[1], vals[2] = nil, nil, nil
		if c.key != 0 {
			vals[0], vals[1], vals[2] = c.key, c.oldSince, c.oldPresent
			known++
			if c.listed && c.emailChanged {
				emails++
			}
		} else {
			added++
		}
		vals[3], vals[4], vals[5], vals[6], vals[7] = c.listed, c.walletChanged, c.emailChanged, c.row.ClientID, c.row.Email
		vals[8], vals[9], vals[10] = nil, nil, nil
		if c.listed {
			vals[8], vals[9], vals[10] = c.row.Balance, c.row.Credit, c.row.Income
		}
		return vals, nil
	})
	if _, err := db.CopyFrom(ctx, pgx.Identifier{"mgid_client_change"},
		[]string{"client_key", "old_since", "old_present", "listed", "wallet_changed", "email_changed",
			"client_id", "email", "balance", "credit", "income"}, src); err != nil {
		return fmt.Errorf("copy client changes of agency %d: %w", agencyID, err)
	}
	if known > 0 {
		tag, err := db.Exec(ctx, updateClientsSQL, agencyID, capturedAt)
		if err != nil {
			return fmt.Errorf("record client balances of agency %d: %w", agencyID, err)
		}
		if tag.RowsAffected() != known {
			return fmt.Errorf("record client balances of agency %d: %d of %d clients were changed by another writer since they were read; nothing written",
				agencyID, known-tag.RowsAffected(), known)
		}
	}
	if added > 0 {
		if _, err := db.Exec(ctx, addClientsSQL, agencyID, capturedAt); err != nil {
			return fmt.Errorf("add clients of agency %d: %w", agencyID, err)
		}
	}
	if emails > 0 {
		if _, err := db.Exec(ctx, `
			INSERT INTO syncer.mgid_client_email (client_key, valid_from, email)
			SELECT client_key, $1, email FROM mgid_client_change
			WHERE client_key IS NOT NULL AND listed AND email_changed`, capturedAt); err != nil {
			return fmt.Errorf("record client emails of agency %d: %w", agencyID, err)
		}
	}
	return nil
}

// updateClientsSQL matches a client only while its open period is still the
// one read back (since, present): the caller compares the rows updated with
// the rows staged to tell a concurrent writer from success.
const updateClientsSQL = `
UPDATE syncer.mgid_client c
SET email = s.email,
    present = s.listed,
    last_seen_at = CASE WHEN s.listed THEN c.last_seen_at
                        ELSE (SELECT max(a.captured_at) FROM syncer.mgid_agency_balance a
                              WHERE a.agency_id = $1 AND a.captured_at < $2) END,
    since = CASE WHEN s.listed AND s.wallet_changed THEN $2 ELSE c.since END,
    balance = CASE WHEN s.listed THEN s.balance ELSE c.balance END,
    credit = CASE WHEN s.listed THEN s.credit ELSE c.credit END,
    income = CASE WHEN s.listed THEN s.income ELSE c.income END
FROM mgid_client_change s
WHERE s.client_key IS NOT NULL AND c.client_key = s.client_key
  AND c.agency_id = $1 AND c.since = s.old_since AND c.present = s.old_present`

// addClientsSQL: new clients get their key, their open period and their
// first email.
const addClientsSQL = `
WITH added AS (
    INSERT INTO syncer.mgid_client (agency_id, client_id, email, first_seen_at, last_seen_at, present, since, balance, credit, income)
    SELECT $1, client_id, email, $2, $2, true, $2, balance, credit, income
    FROM mgid_client_change WHERE client_key IS NULL
    ORDER BY client_id
    RETURNING client_key, email
)
INSERT INTO syncer.mgid_client_email (client_key, valid_from, email)
SELECT client_key, $2, email FROM added`
