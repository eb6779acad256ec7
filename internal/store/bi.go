package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
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

// exactCountTimeout bounds a count the planner thought cheap, and
// exactCountBudget all of them together; past either, the view's estimate
// is shown instead, so `syncer views` answers within about 2 s on any
// history (7.4 s with a per-view limit alone on a loaded machine).
const (
	exactCountTimeout = 300 * time.Millisecond
	exactCountBudget  = time.Second
)

// Views the planner costs at most this (a few ms of counting, at the rate
// above) are always counted exactly, outside the budget, with a generous
// timeout of their own: under a loaded CPU the budget alone made a small
// database's counts flip to estimates from one run to the next.
const (
	alwaysCountMaxCost = 50_000
	alwaysCountTimeout = 5 * time.Second
)

// BIViewCounts counts the rows of every view in schema bi, the BI contract:
// exactly where that is cheap, else the planner's estimate (Estimated).
func (db *DB) BIViewCounts(ctx context.Context) ([]ViewCount, error) {
	rows, err := db.query(ctx, `SELECT table_name FROM information_schema.views WHERE table_schema = 'bi' ORDER BY table_name`)
	if err != nil {
		return nil, fmt.Errorf("list bi views: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list bi views: %w", err)
	}
	// Plan every view first, then count the cheapest first while the
	// budget lasts: a small view is never estimated for a big one's sake.
	out := make([]ViewCount, len(names))
	costs := make([]float64, len(names))
	for i, n := range names {
		rows, cost, err := db.planRows(ctx, n)
		if err != nil {
			return nil, err
		}
		out[i] = ViewCount{View: "bi." + n, Rows: rows, Estimated: true}
		costs[i] = cost
	}
	order := make([]int, len(names))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return costs[order[a]] < costs[order[b]] })
	deadline := time.Now().Add(exactCountBudget)
	for _, i := range order {
		left := min(exactCountTimeout, time.Until(deadline))
		if costs[i] <= alwaysCountMaxCost {
			left = alwaysCountTimeout
		}
		if costs[i] > exactCountMaxCost || left < 10*time.Millisecond {
			continue
		}
		// The name comes from the catalog and is quoted as an identifier.
		c, err := db.countWithin(ctx, `SELECT count(*) FROM `+pgx.Identifier{"bi", names[i]}.Sanitize(), left)
		switch {
		case isQueryCanceled(err):
		case err != nil:
			return nil, fmt.Errorf("count bi.%s: %w", names[i], err)
		default:
			out[i] = ViewCount{View: "bi." + names[i], Rows: c}
		}
	}
	return out, nil
}

// planRows is the planner's row estimate and cost of reading a view whole.
func (db *DB) planRows(ctx context.Context, view string) (int64, float64, error) {
	var raw []byte
	// The name comes from the catalog and is quoted as an identifier.
	if err := db.queryRow(ctx, `EXPLAIN (FORMAT JSON) SELECT * FROM `+pgx.Identifier{"bi", view}.Sanitize()).Scan(&raw); err != nil {
		return 0, 0, fmt.Errorf("plan bi.%s: %w", view, err)
	}
	var plan []struct {
		Plan struct {
			Rows float64 `json:"Plan Rows"`
			Cost float64 `json:"Total Cost"`
		}
	}
	if err := json.Unmarshal(raw, &plan); err != nil || len(plan) == 0 {
		return 0, 0, fmt.Errorf("plan bi.%s: %q: %v", view, raw, err)
	}
	return int64(plan[0].Plan.Rows), plan[0].Plan.Cost, nil
}

// countWithin runs a count under a statement timeout of its own
// transaction, so a slow one is cancelled by the server and leaves the
// session as it was.
func (db *DB) countWithin(ctx context.Context, sql string, limit time.Duration) (int64, error) {
	var c int64
	err := db.WithTx(ctx, func(tx *Tx) error {
		if _, err := tx.exec(ctx, `SELECT set_config('statement_timeout', $1, true)`,
			fmt.Sprint(limit.Milliseconds())); err != nil {
			return err
		}
		return tx.queryRow(ctx, sql).Scan(&c)
	})
	return c, err
}

func isQueryCanceled(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "57014"
}
