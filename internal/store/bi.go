package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// ViewCount is a bi view and how many rows it shows.
type ViewCount struct {
	View string
	Rows int64
}

// BIViewCounts counts the rows of every view in schema bi, the BI contract.
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
		var c int64
		// The name comes from the catalog and is quoted as an identifier.
		if err := db.QueryRow(ctx, `SELECT count(*) FROM `+pgx.Identifier{"bi", n}.Sanitize()).Scan(&c); err != nil {
			return nil, fmt.Errorf("count bi.%s: %w", n, err)
		}
		out = append(out, ViewCount{View: "bi." + n, Rows: c})
	}
	return out, nil
}
