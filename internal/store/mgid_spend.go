package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"syncer/internal/money"
)

// SpendDay is one client's spend on one calendar day.
type SpendDay struct {
	AgencyID int64
	ClientID int64
	Day      time.Time // the date; the time of day is ignored
	Spent    money.Amount
}

// SpendResult counts what an upsert changed.
type SpendResult struct {
	Inserted int64 // days seen for the first time
	Revised  int64 // days whose value changed; the old value went to the revision table
}

// Written is the number of rows the upsert wrote.
func (r SpendResult) Written() int64 { return r.Inserted + r.Revised }

// UpsertSpend writes spend days in tx and keeps every replaced value as a
// revision; a day whose value is unchanged is not written at all. zone is
// the zone whose calendar days the spend days are (MGID_TIMEZONE): each
// (agency, day) records it, and a replaced value is a restatement when its
// day had closed in zone by at, intraday growth while the day was open.
//
// Two paths. A (agency, day) with no stored row yet cannot conflict, so its
// rows are COPYed straight into the table: that is every backfill day and
// each morning's first run, and it is several times cheaper than an upsert.
// Days already stored are read back and compared first, and only the rows
// that are new or changed go through a staging table and one upsert. Writers of
// one day are serialised by the job lock and the backfill day lock; should
// another writer slip in anyway, the COPY fails on the primary key and the
// run is rolled back and retried on the next tick, never half-written.
//
// A Tx method: its staging table lives until the commit.
func (db *Tx) UpsertSpend(ctx context.Context, runID int64, at time.Time, zone *time.Location, days []SpendDay) (SpendResult, error) {
	if len(days) == 0 {
		return SpendResult{}, nil
	}
	if zone == nil {
		return SpendResult{}, fmt.Errorf("spend days: no time zone given")
	}
	stored, err := storedSpendDays(ctx, db.q, zone, days)
	if err != nil {
		return SpendResult{}, err
	}
	var fresh, known []SpendDay
	for _, d := range days {
		if stored[spendKey{d.AgencyID, pgDate(d.Day)}] {
			known = append(known, d)
		} else {
			fresh = append(fresh, d)
		}
	}
	var res SpendResult
	if len(fresh) > 0 {
		n, err := db.copyFrom(ctx, pgx.Identifier{"syncer", "mgid_client_spend_daily"},
			[]string{"agency_id", "spend_date", "client_id", "spent", "first_seen_at", "updated_at", "run_id"},
			spendRows(fresh, at, runID))
		if err != nil {
			return SpendResult{}, fmt.Errorf("copy new spend days: %w", err)
		}
		res.Inserted = n
	}
	if known, err = changedSpend(ctx, db.q, known); err != nil {
		return SpendResult{}, err
	}
	if len(known) > 0 {
		up, err := upsertKnownSpend(ctx, db.q, runID, at, openFrom(at, zone), known)
		if err != nil {
			return SpendResult{}, err
		}
		res.Inserted += up.Inserted
		res.Revised = up.Revised
	}
	if err := rollUpAgencySpend(ctx, db.q, fresh, known); err != nil {
		return SpendResult{}, err
	}
	return res, nil
}

// rollUpAgencySpend recomputes the per-agency daily totals
// (syncer.mgid_spend_agency_day, read by bi.mgid_agency_spend_daily and
// _monthly) of the (agency, day) pairs that got new or changed rows, in the
// same transaction, so month-over-month questions read one row per day
// instead of every client's. A day is summed again from the stored rows,
// not adjusted by deltas: the total cannot drift from the rows it sums.
//
// The same statement records the clients of those days that no wallet
// snapshot has listed (syncer.mgid_spend_client_unlisted, 00035), so the
// zero-filled view (bi.mgid_client_spend_daily_filled) finds them without
// scanning every spend row for them.
func rollUpAgencySpend(ctx context.Context, tx dbtx, sets ...[]SpendDay) error {
	seen := map[spendKey]bool{}
	var agencies []int64
	var dates []string
	// The distinct clients written, checked against the wallet clients by
	// key: a client already listed stays listed (clients are never
	// removed), so only these can be new spend-only clients.
	type clientKey struct{ agency, client int64 }
	written := map[clientKey]bool{}
	var cAgencies, cClients []int64
	for _, days := range sets {
		for _, d := range days {
			if k := (spendKey{d.AgencyID, pgDate(d.Day)}); !seen[k] {
				seen[k] = true
				agencies = append(agencies, k.agency)
				dates = append(dates, k.day)
			}
			if k := (clientKey{d.AgencyID, d.ClientID}); !written[k] {
				written[k] = true
				cAgencies = append(cAgencies, k.agency)
				cClients = append(cClients, k.client)
			}
		}
	}
	if len(agencies) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `
		WITH unlisted AS (
		    INSERT INTO syncer.mgid_spend_client_unlisted (agency_id, client_id)
		    SELECT w.agency_id, w.client_id FROM unnest($3::bigint[], $4::bigint[]) AS w(agency_id, client_id)
		    WHERE NOT EXISTS (SELECT 1 FROM syncer.mgid_client c WHERE c.agency_id = w.agency_id AND c.client_id = w.client_id)
		    ON CONFLICT DO NOTHING
		)
		INSERT INTO syncer.mgid_spend_agency_day AS t (agency_id, spend_date, spent, clients)
		SELECT d.agency_id, d.spend_date, sum(d.spent), count(*)
		FROM unnest($1::bigint[], $2::date[]) AS p(agency_id, spend_date)
		JOIN syncer.mgid_client_spend_daily d ON d.agency_id = p.agency_id AND d.spend_date = p.spend_date
		GROUP BY d.agency_id, d.spend_date
		ON CONFLICT (agency_id, spend_date) DO UPDATE SET spent = excluded.spent, clients = excluded.clients
		WHERE (t.spent, t.clients) IS DISTINCT FROM (excluded.spent, excluded.clients)`, agencies, dates, cAgencies, cClients)
	if err != nil {
		return fmt.Errorf("roll up agency spend days: %w", err)
	}
	return nil
}

type spendKey struct {
	agency int64
	day    string
}

// storedSpendDays reports which (agency, day) pairs of days have rows: one
// index probe per pair. The same statement records each pair's zone.
func storedSpendDays(ctx context.Context, tx dbtx, zone *time.Location, days []SpendDay) (map[spendKey]bool, error) {
	seen := map[spendKey]bool{}
	var agencies []int64
	var dates []string
	for _, d := range days {
		k := spendKey{d.AgencyID, pgDate(d.Day)}
		if !seen[k] {
			seen[k] = true
			agencies = append(agencies, k.agency)
			dates = append(dates, k.day)
		}
	}
	// The probe reads the snapshot the statement started with, so the
	// zone rows it writes do not count as stored spend.
	rows, err := tx.Query(ctx, `
		WITH p AS (SELECT * FROM unnest($1::bigint[], $2::date[]) AS p(agency_id, spend_date)),
		zoned AS (
		    INSERT INTO syncer.mgid_spend_day AS z (agency_id, spend_date, timezone)
		    SELECT agency_id, spend_date, $3 FROM p
		    ON CONFLICT (agency_id, spend_date) DO UPDATE SET timezone = excluded.timezone
		    WHERE z.timezone IS DISTINCT FROM excluded.timezone
		)
		SELECT p.agency_id, p.spend_date::text
		FROM p
		WHERE EXISTS (SELECT 1 FROM syncer.mgid_client_spend_daily d
		              WHERE d.agency_id = p.agency_id AND d.spend_date = p.spend_date)`, agencies, dates, zone.String())
	if err != nil {
		return nil, fmt.Errorf("stored spend days: %w", err)
	}
	defer rows.Close()
	stored := map[spendKey]bool{}
	for rows.Next() {
		var k spendKey
		if err := rows.Scan(&k.agency, &k.day); err != nil {
			return nil, err
		}
		stored[k] = true
	}
	return stored, rows.Err()
}

// changedSpend returns the rows of days (all of stored (agency, day) pairs)
// that are not stored with the same value: new clients and changed values.
// Most of a re-read window is unchanged, and reading a day back in key
// order is cheaper than offering each row to the upsert, which locks every
// conflicting row even when it changes nothing. It sorts days in place and
// merges it with each stored day, so it holds no map of the stored rows.
// The upsert still compares (IS DISTINCT FROM), so a row that changed after
// this read is never lost.
func changedSpend(ctx context.Context, tx dbtx, days []SpendDay) ([]SpendDay, error) {
	slices.SortFunc(days, func(a, b SpendDay) int {
		return cmp.Or(cmp.Compare(a.AgencyID, b.AgencyID), cmp.Compare(dateKey(a.Day), dateKey(b.Day)), cmp.Compare(a.ClientID, b.ClientID))
	})
	var out []SpendDay
	for len(days) > 0 {
		// One (agency, day) at a time: the primary key hands its rows over
		// in client order, so neither side needs a sort in Postgres.
		n := 1
		for n < len(days) && days[n].AgencyID == days[0].AgencyID && dateKey(days[n].Day) == dateKey(days[0].Day) {
			n++
		}
		group := days[:n]
		days = days[n:]
		rows, err := tx.Query(ctx, `
			SELECT client_id, spent FROM syncer.mgid_client_spend_daily
			WHERE agency_id = $1 AND spend_date = $2 ORDER BY client_id`, group[0].AgencyID, pgDate(group[0].Day))
		if err != nil {
			return nil, fmt.Errorf("read stored spend: %w", err)
		}
		var client int64
		var spent money.Amount
		i := 0
		_, err = pgx.ForEachRow(rows, []any{&client, &spent}, func() error {
			for ; i < len(group) && group[i].ClientID < client; i++ {
				out = append(out, group[i]) // not stored: new
			}
			if i < len(group) && group[i].ClientID == client {
				if group[i].Spent != spent {
					out = append(out, group[i])
				}
				i++
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("read stored spend: %w", err)
		}
		out = append(out, group[i:]...)
	}
	return out, nil
}

func spendRows(days []SpendDay, at time.Time, runID int64) pgx.CopyFromSource {
	vals := make([]any, 7)
	vals[4], vals[5], vals[6] = at, at, runID
	i := 0
	return pgx.CopyFromFunc(func() ([]any, error) {
		if i == len(days) {
			return nil, nil
		}
		d := days[i]
		i++
		vals[0], vals[1], vals[2], vals[3] = d.AgencyID, pgDate(d.Day), d.ClientID, d.Spent
		return vals, nil
	})
}

// upsertKnownSpend: COPY into a temporary staging table, then one statement
// that upserts and writes the replaced values as revisions.
// A changed day before open (the date of at in the spend zone) had closed:
// the change is a restatement; on or after it, growth of an open day.
func upsertKnownSpend(ctx context.Context, tx dbtx, runID int64, at time.Time, open string, days []SpendDay) (SpendResult, error) {
	// ON COMMIT DELETE ROWS: the table outlives the transaction on this
	// connection, so later runs skip the catalog work of creating it again.
	if _, err := tx.Exec(ctx, `
		CREATE TEMP TABLE IF NOT EXISTS mgid_spend_stage (
		    agency_id bigint NOT NULL, spend_date date NOT NULL,
		    client_id bigint NOT NULL, spent numeric(18,4) NOT NULL
		) ON COMMIT DELETE ROWS`); err != nil {
		return SpendResult{}, fmt.Errorf("spend staging table: %w", err)
	}
	vals := make([]any, 4)
	i := 0
	src := pgx.CopyFromFunc(func() ([]any, error) {
		if i == len(days) {
			return nil, nil
		}
		d := days[i]
		i++
		vals[0], vals[1], vals[2], vals[3] = d.AgencyID, pgDate(d.Day), d.ClientID, d.Spent
		return vals, nil
	})
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"mgid_spend_stage"},
		[]string{"agency_id", "spend_date", "client_id", "spent"}, src); err != nil {
		return SpendResult{}, fmt.Errorf("copy spend: %w", err)
	}
	// An updated row returns the value it replaced in prev_*, which becomes
	// the revision row; xmax = 0 tells a new row from an updated one.
	// revisions counts restatements only.
	var res SpendResult
	err := tx.QueryRow(ctx, `
		WITH upserted AS (
		    INSERT INTO syncer.mgid_client_spend_daily AS d
		        (agency_id, spend_date, client_id, spent, first_seen_at, updated_at, revisions, run_id)
		    SELECT agency_id, spend_date, client_id, spent, $1, $1, 0, $2 FROM mgid_spend_stage
		    ON CONFLICT (agency_id, spend_date, client_id) DO UPDATE
		    SET spent = excluded.spent, updated_at = excluded.updated_at,
		        revisions = d.revisions + CASE WHEN d.spend_date < $3::date THEN 1 ELSE 0 END,
		        run_id = excluded.run_id,
		        prev_spent = d.spent, prev_updated_at = d.updated_at
		    WHERE d.spent IS DISTINCT FROM excluded.spent
		    RETURNING d.agency_id, d.spend_date, d.client_id, d.prev_spent, d.prev_updated_at, (d.xmax = 0) AS inserted
		), revised AS (
		    INSERT INTO syncer.mgid_client_spend_revision
		        (agency_id, client_id, spend_date, spent, valid_from, replaced_at, run_id, kind)
		    SELECT agency_id, client_id, spend_date, prev_spent, prev_updated_at, $1, $2,
		           CASE WHEN spend_date < $3::date THEN 'restatement' ELSE 'intraday' END
		    FROM upserted WHERE NOT inserted
		)
		SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM upserted`,
		at, runID, open).Scan(&res.Inserted, &res.Revised)
	if err != nil {
		return SpendResult{}, fmt.Errorf("upsert spend: %w", err)
	}
	return res, nil
}

// dateKey orders and groups by calendar date as pgDate does (the time of
// day ignored), without formatting a string per row.
func dateKey(t time.Time) int {
	y, m, d := t.Date()
	return y*10000 + int(m)*100 + d
}

// openFrom is the date of at in zone, as pgDate gives it: spend days from it
// on are still open at at, earlier ones have closed.
func openFrom(at time.Time, zone *time.Location) string { return pgDate(at.In(zone)) }

// pgDate passes a calendar date as text so no time zone can shift it.
func pgDate(t time.Time) string { return t.Format(time.DateOnly) }
