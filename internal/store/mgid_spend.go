package store

import (
	"context"
	"fmt"
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

// UpsertSpend writes spend days in tx: COPY into a temporary staging table,
// then one statement that keeps every replaced value as a revision and
// upserts the rest. A day whose value is unchanged is not written at all.
// All parts of the statement read the same snapshot, so `changed` sees the
// values the upsert replaces (no FOR UPDATE there: rows the upsert already
// touched would be skipped). Writers of one day are serialised by the job
// lock and the backfill day lock.
func UpsertSpend(ctx context.Context, tx pgx.Tx, runID int64, at time.Time, days []SpendDay) (SpendResult, error) {
	if len(days) == 0 {
		return SpendResult{}, nil
	}
	// ON COMMIT DELETE ROWS: the table outlives the transaction on this
	// connection, so later runs skip the catalog work of creating it again.
	if _, err := tx.Exec(ctx, `
		CREATE TEMP TABLE IF NOT EXISTS mgid_spend_stage (
		    agency_id bigint NOT NULL, client_id bigint NOT NULL,
		    spend_date date NOT NULL, spent numeric(18,4) NOT NULL
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
		vals[0], vals[1], vals[2], vals[3] = d.AgencyID, d.ClientID, pgDate(d.Day), d.Spent
		return vals, nil
	})
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"mgid_spend_stage"},
		[]string{"agency_id", "client_id", "spend_date", "spent"}, src); err != nil {
		return SpendResult{}, fmt.Errorf("copy spend: %w", err)
	}
	var res SpendResult
	err := tx.QueryRow(ctx, `
		WITH changed AS (
		    SELECT d.agency_id, d.client_id, d.spend_date, d.spent, d.updated_at
		    FROM syncer.mgid_client_spend_daily d
		    JOIN mgid_spend_stage s USING (agency_id, client_id, spend_date)
		    WHERE d.spent IS DISTINCT FROM s.spent
		), revised AS (
		    INSERT INTO syncer.mgid_client_spend_revision
		        (agency_id, client_id, spend_date, spent, valid_from, replaced_at, run_id)
		    SELECT agency_id, client_id, spend_date, spent, updated_at, $1, $2 FROM changed
		), upserted AS (
		    INSERT INTO syncer.mgid_client_spend_daily AS d
		        (agency_id, client_id, spend_date, spent, first_seen_at, updated_at, revisions, run_id)
		    SELECT agency_id, client_id, spend_date, spent, $1, $1, 0, $2 FROM mgid_spend_stage
		    ON CONFLICT (agency_id, client_id, spend_date) DO UPDATE
		    SET spent = excluded.spent, updated_at = excluded.updated_at,
		        revisions = d.revisions + 1, run_id = excluded.run_id
		    WHERE d.spent IS DISTINCT FROM excluded.spent
		    RETURNING xmax = 0 AS inserted
		)
		SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM upserted`,
		at, runID).Scan(&res.Inserted, &res.Revised)
	if err != nil {
		return SpendResult{}, fmt.Errorf("upsert spend: %w", err)
	}
	return res, nil
}

// pgDate passes a calendar date as text so no time zone can shift it.
func pgDate(t time.Time) string { return t.Format(time.DateOnly) }
