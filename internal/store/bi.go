package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// ViewCount is a bi view and how many rows it shows.
type ViewCount struct {
	View string
	Rows int64
	// Estimated: Rows is the planner's estimate, not a count. Counting
	// bi.mgid_client_balance_history reads every period against every
	// snapshot (9.8 s on a month of 10,000 clients).
	Estimated bool
}

// Views whose plan costs more than this are estimated, not counted: on the
// bench-bi history a count costs about 1 ms per 20,000 cost units, so this
// is ~100 ms of counting at most.
const exactCountMaxCost = 2_000_000

// exactCountTimeout bounds a count the planner thought cheap; past it the
// view's estimate is shown instead, so `syncer views` stays within seconds.
const exactCountTimeout = 300 * time.Millisecond

// BIViewCounts counts the rows of every view in schema bi, the BI contract:
// exactly where that is cheap, else the planner's estimate (Estimated).
func (db *DB) BIViewCounts(ctx context.Context) ([]ViewCount, error) {
	rows, err := db.Query(ctx, `SELECT table_name FROM information_schema.views WHERE table_schema = 'bi' ORDER BY table_name`)
	if err != nil {
		return nil, fmt.Errorf("list bi views: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list bi views: %w", err)
	}
	out := make([]ViewCount, 0, len(names))
	for _, n := range names {
		// The name comes from the catalog and is quoted as an identifier.
		from := ` FROM ` + pgx.Identifier{"bi", n}.Sanitize()
		var plan []struct {
			Plan struct {
				Rows float64 `json:"Plan Rows"`
				Cost float64 `json:"Total Cost"`
			}
		}
		var raw []byte
		if err := db.QueryRow(ctx, `EXPLAIN (FORMAT JSON) SELECT *`+from).Scan(&raw); err != nil {
			return nil, fmt.Errorf("plan bi.%s: %w", n, err)
		}
		if err := json.Unmarshal(raw, &plan); err != nil || len(plan) == 0 {
			return nil, fmt.Errorf("plan bi.%s: %q: %v", n, raw, err)
		}
		est := ViewCount{View: "bi." + n, Rows: int64(plan[0].Plan.Rows), Estimated: true}
		if plan[0].Plan.Cost > exactCountMaxCost {
			out = append(out, est)
			continue
		}
		c, err := db.countWithin(ctx, `SELECT count(*)`+from)
		switch {
		case isQueryCanceled(err):
			out = append(out, est)
		case err != nil:
			return nil, fmt.Errorf("count bi.%s: %w", n, err)
		default:
			out = append(out, ViewCount{View: "bi." + n, Rows: c})
		}
	}
	return out, nil
}

// countWithin runs a count under a statement timeout of its own
// transaction, so a slow one is cancelled by the server and leaves the
// session as it was.
func (db *DB) countWithin(ctx context.Context, sql string) (int64, error) {
	var c int64
	err := db.WithTx(ctx, func(tx *DB) error {
		if _, err := tx.Exec(ctx, `SELECT set_config('statement_timeout', $1, true)`,
			fmt.Sprint(exactCountTimeout.Milliseconds())); err != nil {
			return err
		}
		return tx.QueryRow(ctx, sql).Scan(&c)
	})
	return c, err
}

func isQueryCanceled(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "57014"
}
