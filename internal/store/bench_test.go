package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"syncer/internal/money"
	"syncer/internal/store"
	"syncer/internal/testdb"
)

// The write paths side by side, on one database in one run, so their ratios
// mean something. Each reports rows/s; scripts/bench.sh turns them into the
// ratios in BENCHMARKS.md.

const benchRows = 200_000

func benchClients(n int) []store.ClientBalance {
	rows := make([]store.ClientBalance, n)
	for i := range rows {
		credit := money.FromUnits(int64(i%7) * 1_000_000)
		rows[i] = store.ClientBalance{
			ClientID: int64(5001 + i), Email: fmt.Sprintf("c%d@example.com", 5001+i),
			Balance: money.FromUnits(int64(i*137%10_000_000) * 100), Credit: &credit,
			Income: money.FromUnits(int64(i*7919%90_000_000) * 100),
		}
	}
	return rows
}

func reportRows(b *testing.B, rows int, start time.Time) {
	b.ReportMetric(float64(rows)/time.Since(start).Seconds(), "rows/s")
}

// rawCopy times COPY of n rows (made by row) into a table created by ddl and
// truncated before each iteration.
func rawCopy(b *testing.B, ddl string, cols []string, n int, row func(i int, vals []any)) {
	db := testdb.New(b)
	ctx := context.Background()
	if _, err := db.Exec(ctx, ddl); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		if _, err := db.Exec(ctx, `TRUNCATE raw`); err != nil {
			b.Fatal(err)
		}
		checkpoint(b, db)
		b.StartTimer()
		start := time.Now()
		vals := make([]any, len(cols))
		j := 0
		_, err := db.CopyFrom(ctx, pgx.Identifier{"raw"}, cols, pgx.CopyFromFunc(func() ([]any, error) {
			if j == n {
				return nil, nil
			}
			row(j, vals)
			j++
			return vals, nil
		}))
		if err != nil {
			b.Fatal(err)
		}
		reportRows(b, n, start)
	}
}

var snapshotCols = []string{"agency_id", "captured_at", "client_id", "email", "balance", "credit", "income"}

func snapshotRow(rows []store.ClientBalance, at time.Time, stock bool) func(int, []any) {
	num := func(a money.Amount) any {
		if !stock {
			return a
		}
		var n pgtype.Numeric // pgx's own path: text -> big.Int -> binary
		_ = n.Scan(a.String())
		return n
	}
	return func(i int, v []any) {
		r := rows[i]
		v[0], v[1], v[2], v[3], v[4], v[5], v[6] = int64(1), at, r.ClientID, r.Email, num(r.Balance), num(*r.Credit), num(r.Income)
	}
}

// snapshotTable is the per-snapshot client table 00002 created and 00007
// replaced (columns and primary key): appending a snapshot to it is what the
// write path cost before change-only history, and the baseline the targets
// name ("raw COPY into a table of the same shape").
const snapshotTable = `CREATE TABLE raw (
	agency_id bigint NOT NULL, captured_at timestamptz NOT NULL, client_id bigint NOT NULL,
	email text NOT NULL, balance numeric(18,4) NOT NULL, credit numeric(18,4) NOT NULL,
	income numeric(18,4) NOT NULL, PRIMARY KEY (agency_id, captured_at, client_id))`

// BenchmarkWriteRawCopy: COPY of snapshot rows into an empty table.
//   - same-shape: the per-snapshot table (snapshotTable): the baseline the
//     targets name;
//   - heap: the same columns without any index, the absolute ceiling;
//   - heap-stock-numeric: the ceiling again with pgx's stock numeric
//     encoding, to show what the scaled-integer encoder buys.
func BenchmarkWriteRawCopy(b *testing.B) {
	rows := benchClients(benchRows)
	at := time.Now()
	heap := `CREATE TABLE raw (agency_id bigint, captured_at timestamptz, client_id bigint,
		email text, balance numeric(18,4), credit numeric(18,4), income numeric(18,4))`
	b.Run("same-shape", func(b *testing.B) {
		rawCopy(b, snapshotTable, snapshotCols, len(rows), snapshotRow(rows, at, false))
	})
	b.Run("heap", func(b *testing.B) { rawCopy(b, heap, snapshotCols, len(rows), snapshotRow(rows, at, false)) })
	b.Run("heap-stock-numeric", func(b *testing.B) { rawCopy(b, heap, snapshotCols, len(rows), snapshotRow(rows, at, true)) })
}

// BenchmarkWriteRawCopySpend: COPY of spend rows into an empty table of the
// spend table's shape: the baseline of the upsert path.
func BenchmarkWriteRawCopySpend(b *testing.B) {
	rows := benchSpend(benchRows, time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), 0)
	now := time.Now()
	rawCopy(b, `CREATE TABLE raw (LIKE syncer.mgid_client_spend_daily INCLUDING ALL)`,
		[]string{"agency_id", "spend_date", "client_id", "spent", "first_seen_at", "updated_at", "revisions", "run_id"},
		len(rows), func(i int, v []any) {
			r := rows[i]
			v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7] = r.AgencyID, r.Day, r.ClientID, r.Spent, now, now, int32(0), int64(1)
		})
}

type benchSource struct {
	rows []store.ClientBalance
	i    int
}

func (s *benchSource) Next() bool               { s.i++; return s.i <= len(s.rows) }
func (s *benchSource) Row() store.ClientBalance { return s.rows[s.i-1] }
func (s *benchSource) Err() error               { return nil }

// BenchmarkWriteSnapshotAppend: the real path of mgid-balances (agency row,
// staging COPY, the diff against each client's open period) appending a
// snapshot to a history that already holds one, with
//   - unchanged: every wallet as in the previous snapshot;
//   - quarter-changed: every 4th wallet changed, the simulator's rate (0.24
//     of client snapshots differ from the one 15 minutes earlier);
//   - all-changed: every wallet changed, the worst case (a period closed and
//     a new one opened per client).
func BenchmarkWriteSnapshotAppend(b *testing.B) {
	for _, tc := range []struct {
		name  string
		every int // change every n-th client; 0: none
	}{{"unchanged", 0}, {"quarter-changed", 4}, {"all-changed", 1}} {
		b.Run(tc.name, func(b *testing.B) {
			db := testdb.New(b)
			rows := benchClients(benchRows)
			at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			appendSnapshot(b, db, at, rows, 1)
			// Autovacuum analyzes a table 200,000 rows were just added to
			// within a minute; without statistics the planner takes the
			// clients table for a few pages and hashes it whole.
			if _, err := db.Exec(context.Background(), `ANALYZE syncer.mgid_client`); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				if tc.every > 0 {
					for j := 0; j < len(rows); j += tc.every {
						rows[j].Balance = rows[j].Balance.Add(money.FromUnits(100))
					}
				}
				at = at.Add(15 * time.Minute)
				checkpoint(b, db)
				b.StartTimer()
				start := time.Now()
				appendSnapshot(b, db, at, rows, 1)
				reportRows(b, len(rows), start)
			}
		})
	}
}

// BenchmarkWriteSnapshotFirst: an agency's first snapshot (every client
// new), each iteration a new agency on the same database.
func BenchmarkWriteSnapshotFirst(b *testing.B) {
	db := testdb.New(b)
	rows := benchClients(benchRows)
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		checkpoint(b, db)
		b.StartTimer()
		start := time.Now()
		appendSnapshot(b, db, at, rows, int64(i+1))
		reportRows(b, len(rows), start)
	}
}

// checkpoint starts an iteration as a snapshot starts in production: a
// snapshot comes every 15 minutes, a checkpoint every 5 (checkpoint_timeout),
// so the first change to each page after it is logged as a full-page image.
// Without it, whether a page pays that image depends on the checkpoints other
// databases on the server happened to cause (on this shared machine several
// a second), and an in-place update measured anything from 0.1 to 0.5 s.
func checkpoint(b *testing.B, db *store.DB) {
	if _, err := db.Exec(context.Background(), `CHECKPOINT`); err != nil {
		b.Fatal(err)
	}
}

func appendSnapshot(b *testing.B, db *store.DB, at time.Time, rows []store.ClientBalance, agency int64) {
	ctx := context.Background()
	ensureWalletMonths(b, db, at)
	err := db.WithTx(ctx, func(tx *store.Tx) error {
		if err := tx.InsertAgencyBalance(ctx, store.AgencyBalance{AgencyID: agency, CapturedAt: at, RunID: 1}); err != nil {
			return err
		}
		_, err := tx.CopyClientBalances(ctx, agency, at, &benchSource{rows: rows})
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
}

func benchSpend(n int, day time.Time, bump int64) []store.SpendDay {
	out := make([]store.SpendDay, n)
	for i := range out {
		out[i] = store.SpendDay{AgencyID: 1, ClientID: int64(5001 + i%10_000), Day: day.AddDate(0, 0, i/10_000),
			Spent: money.FromUnits(int64(i*7919%50_000_000) + bump)}
	}
	return out
}

// BenchmarkWriteSpendUpsert: the mgid-spend path (staging COPY + one upsert
// with revisions) for days never seen, then the same rows again unchanged
// (reported as rows written, which must be 0), then all of them restated.
func BenchmarkWriteSpendUpsert(b *testing.B) {
	db := testdb.New(b)
	ctx := context.Background()
	day := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	upsert := func(days []store.SpendDay) store.SpendResult {
		var res store.SpendResult
		if err := db.WithTx(ctx, func(tx *store.Tx) error {
			var err error
			res, err = tx.UpsertSpend(ctx, 1, time.Now(), time.UTC, days)
			return err
		}); err != nil {
			b.Fatal(err)
		}
		return res
	}
	b.Run("new", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			rows := benchSpend(benchRows, day, 0)
			day = day.AddDate(0, 0, benchRows/10_000)
			start := time.Now()
			upsert(rows)
			reportRows(b, len(rows), start)
		}
	})
	last := day.AddDate(0, 0, -benchRows/10_000)
	b.Run("unchanged", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			rows := benchSpend(benchRows, last, 0)
			start := time.Now()
			res := upsert(rows)
			reportRows(b, len(rows), start)
			b.ReportMetric(float64(res.Written()), "rows-written")
		}
	})
	b.Run("restated", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			rows := benchSpend(benchRows, last, int64(i+1)*100)
			start := time.Now()
			res := upsert(rows)
			reportRows(b, len(rows), start)
			b.ReportMetric(float64(res.Revised), "rows-revised")
		}
	})
}

// BenchmarkWriteInsertLoop: one INSERT per row into the per-snapshot table,
// the baseline the bulk paths are compared with. Fewer rows: it is slow.
func BenchmarkWriteInsertLoop(b *testing.B) {
	db := testdb.New(b)
	ctx := context.Background()
	if _, err := db.Exec(ctx, snapshotTable); err != nil {
		b.Fatal(err)
	}
	rows := benchClients(10_000)
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		at = at.Add(time.Minute)
		start := time.Now()
		for _, r := range rows {
			if _, err := db.Exec(ctx, `INSERT INTO raw
				(agency_id, captured_at, client_id, email, balance, credit, income) VALUES ($1,$2,$3,$4,$5,$6,$7)`,
				1, at, r.ClientID, r.Email, r.Balance, r.Credit, r.Income); err != nil {
				b.Fatal(err)
			}
		}
		reportRows(b, len(rows), start)
	}
}
