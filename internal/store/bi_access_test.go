package store_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"syncer/internal/store"
	"syncer/internal/testdb"
	"syncer/migrations"
)

// biViews lists the views of schema bi, read as the connecting (admin) user.
func biViews(t *testing.T, db *store.DB) []string {
	t.Helper()
	rows, err := db.Query(context.Background(), `
		SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'bi' AND c.relkind IN ('v', 'm') ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	views, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(views) < 10 {
		t.Fatalf("only %d bi views: %v", len(views), views)
	}
	return views
}

// asBIRole runs fn on a connection whose role is syncer_bi, then drops the
// connection so no pooled session keeps the role.
func asBIRole(t *testing.T, db *store.DB, fn func(c *pgx.Conn)) {
	t.Helper()
	ctx := context.Background()
	pc, err := db.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c := pc.Hijack()
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, `SET ROLE syncer_bi`); err != nil {
		t.Fatal(err)
	}
	fn(c)
}

func isPermissionDenied(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "42501"
}

// syncer_bi reads every bi view, including one created after the migration
// (default privileges), and nothing in schema syncer.
func TestBIRoleReadsEveryViewAndNoTable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testdb.New(t)
	if _, err := db.Exec(ctx, `CREATE VIEW bi.later_view AS SELECT job FROM syncer.runs`); err != nil {
		t.Fatal(err)
	}
	views := biViews(t, db)
	rows, err := db.Query(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = 'syncer' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(tables) < 5 {
		t.Fatalf("syncer tables %v: %v", tables, err)
	}
	asBIRole(t, db, func(c *pgx.Conn) {
		var role string
		if err := c.QueryRow(ctx, `SELECT current_user`).Scan(&role); err != nil || role != "syncer_bi" {
			t.Fatalf("current_user %q, %v", role, err)
		}
		for _, v := range views {
			if _, err := c.Exec(ctx, `SELECT * FROM `+pgx.Identifier{"bi", v}.Sanitize()+` LIMIT 1`); err != nil {
				t.Errorf("syncer_bi cannot read bi.%s: %v", v, err)
			}
		}
		for _, tb := range tables {
			_, err := c.Exec(ctx, `SELECT * FROM `+pgx.Identifier{"syncer", tb}.Sanitize()+` LIMIT 1`)
			if !isPermissionDenied(err) {
				t.Errorf("syncer_bi reading syncer.%s: %v, want permission denied", tb, err)
			}
		}
		if _, err := c.Exec(ctx, `DELETE FROM bi.sync_runs`); !isPermissionDenied(err) {
			t.Errorf("syncer_bi deleting through a view: %v, want permission denied", err)
		}
	})
}

// uncommented lists the bi views and columns without a comment.
func uncommented(t *testing.T, db *store.DB) []string {
	t.Helper()
	rows, err := db.Query(context.Background(), `
		SELECT 'bi.' || c.relname
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'bi' AND c.relkind IN ('v', 'm')
		  AND coalesce(obj_description(c.oid, 'pg_class'), '') = ''
		UNION ALL
		SELECT 'bi.' || c.relname || '.' || a.attname
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
		WHERE n.nspname = 'bi' AND c.relkind IN ('v', 'm')
		  AND coalesce(col_description(c.oid, a.attnum), '') = ''
		ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Every bi view and every column carries a comment, so BI tools' data
// dictionaries fill in. Views other migrations add are held to it too.
func TestEveryBIViewAndColumnHasAComment(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	if bare := uncommented(t, db); len(bare) > 0 {
		t.Errorf("%d bi views or columns lack a comment (add COMMENT ON VIEW/COLUMN in the migration):\n  %s",
			len(bare), strings.Join(bare, "\n  "))
	}
	// The check sees a view added without comments.
	if _, err := db.Exec(context.Background(), `CREATE VIEW bi.zz_bare AS SELECT 1 AS one`); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(uncommented(t, db), " "); got != "bi.zz_bare bi.zz_bare.one" {
		t.Errorf("after adding a bare view, uncommented = %q", got)
	}
}

// Down of the observability migration revokes in its own database only: the
// role is shared by the server's databases and stays usable in the others.
// Up again restores everything.
func TestObservabilityMigrationDownKeepsOtherDatabases(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, other := testdb.New(t), testdb.New(t)
	m, err := db.NewMigrations()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.DownTo(ctx, 5, io.Discard); err != nil {
		t.Fatal(err)
	}
	check := func(d *store.DB, sql string, want bool) {
		t.Helper()
		var got bool
		if err := d.QueryRow(ctx, sql).Scan(&got); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		if got != want {
			t.Errorf("%s = %v, want %v", sql, got, want)
		}
	}
	check(db, `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'syncer_bi')`, true)
	check(db, `SELECT has_table_privilege('syncer_bi', 'bi.sync_runs', 'SELECT')`, false)
	check(db, `SELECT has_schema_privilege('syncer_bi', 'bi', 'USAGE')`, false)
	check(db, `SELECT to_regclass('bi.coverage') IS NULL`, true)
	check(db, `SELECT count(*) = 3 FROM information_schema.columns WHERE table_schema = 'bi' AND table_name = 'source_freshness'`, true)
	check(db, `SELECT NOT EXISTS (SELECT 1 FROM pg_default_acl)`, true)
	asBIRole(t, other, func(c *pgx.Conn) {
		if _, err := c.Exec(ctx, `SELECT * FROM bi.coverage LIMIT 1`); err != nil {
			t.Errorf("another database lost syncer_bi's access: %v", err)
		}
	})
	if err := m.Up(ctx, io.Discard); err != nil {
		t.Fatal(err)
	}
	check(db, `SELECT has_table_privilege('syncer_bi', 'bi.coverage', 'SELECT')`, true)
	check(db, `SELECT has_table_privilege('syncer_bi', 'bi.sync_runs', 'SELECT')`, true)
	check(db, `SELECT has_table_privilege('syncer_bi', 'syncer.runs', 'SELECT')`, false)
}

// The migration's CREATE ROLE block, run by eight sessions at once for a
// role that does not exist yet (as when test databases on one server
// migrate together): one creates it, the others wait on its commit and
// treat the clash as done. None fails.
func TestBIRoleCreationIsRaceSafe(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testdb.New(t)
	src, err := fs.ReadFile(migrations.FS, "00006_observability.sql")
	if err != nil {
		t.Fatal(err)
	}
	block := string(src)
	start := strings.Index(block, "DO $$\nBEGIN\n    CREATE ROLE syncer_bi NOLOGIN;")
	end := strings.Index(block[start:], "$$;") + start + len("$$;")
	if start < 0 || end < start {
		t.Fatal("the migration's CREATE ROLE block is not where this test looks")
	}
	role := fmt.Sprintf("syncer_bi_race_%d", time.Now().UnixNano())
	block = strings.ReplaceAll(block[start:end], "syncer_bi", role)
	t.Cleanup(func() {
		_, _ = db.Exec(context.Background(), `DROP ROLE IF EXISTS `+pgx.Identifier{role}.Sanitize())
	})

	const sessions = 8
	var wg sync.WaitGroup
	errs := make(chan error, sessions)
	gate := make(chan struct{})
	for range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			errs <- db.WithTx(ctx, func(tx *store.Tx) error {
				if _, err := tx.Exec(ctx, block); err != nil {
					return err
				}
				time.Sleep(50 * time.Millisecond) // hold the new role uncommitted while others try
				return nil
			})
		}()
	}
	close(gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("a session failed: %v", err)
		}
	}
	var n int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM pg_roles WHERE rolname = $1 AND NOT rolcanlogin`, role).Scan(&n); err != nil || n != 1 {
		t.Errorf("%d NOLOGIN roles %s, %v", n, role, err)
	}
}

// Runs and spend days recorded before the migration: observed is inferred
// from each run's status and details, and stored spend days become fetches.
func TestObservabilityMigrationInfersOldRuns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testdb.New(t)
	m, err := db.NewMigrations()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.DownTo(ctx, 5, io.Discard); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, `
		INSERT INTO syncer.runs (id, job, trigger, status, replica, finished_at, detail) VALUES
		(1, 'mgid-spend', 'schedule', 'succeeded', 'r', now(), '{"inserted": 3}'),
		(2, 'mgid-spend', 'backfill', 'succeeded', 'r', now(), NULL),
		(3, 'mgid-spend', 'schedule', 'failed', 'r', now(), NULL),
		(4, 'mgid-topup', 'schedule', 'succeeded', 'r', now(), '{"skipped_stale_snapshot": 1}'),
		(5, 'mgid-topup', 'schedule', 'succeeded', 'r', now(), '{"planned": 3, "skipped_open_transfer": 1}'),
		(6, 'mawthoq-recheck', 'schedule', 'succeeded', 'r', now(), '{"provider_error": 5}'),
		(7, 'mawthoq-recheck', 'schedule', 'succeeded', 'r', now(), '{"provider_error": 5, "found": 1}'),
		(8, 'firstlight-redeem', 'schedule', 'succeeded', 'r', now(), NULL);
		INSERT INTO syncer.mgid_client_spend_daily (agency_id, spend_date, client_id, spent, first_seen_at, updated_at, run_id) VALUES
		(9, '2026-11-01', 1, 1, '2026-11-01 10:00Z', '2026-11-02 10:00Z', 1),
		(9, '2026-11-01', 2, 1, '2026-11-01 09:00Z', '2026-11-01 11:00Z', 1)`); err != nil {
		t.Fatal(err)
	}
	if err := m.Up(ctx, io.Discard); err != nil {
		t.Fatal(err)
	}
	var observed, fetches string
	if err := db.QueryRow(ctx, `SELECT string_agg(id || '=' || observed, ' ' ORDER BY id) FROM syncer.runs`).Scan(&observed); err != nil {
		t.Fatal(err)
	}
	if want := "1=true 2=true 3=false 4=false 5=true 6=false 7=true 8=false"; observed != want {
		t.Errorf("observed inferred as %s, want %s", observed, want)
	}
	if err := db.QueryRow(ctx, `
		SELECT string_agg(agency_id || ' ' || spend_date || ' ' || to_char(first_fetched_at AT TIME ZONE 'UTC', 'MM-DD HH24') ||
		                  ' ' || to_char(last_fetched_at AT TIME ZONE 'UTC', 'MM-DD HH24'), '; ')
		FROM syncer.mgid_spend_fetches`).Scan(&fetches); err != nil {
		t.Fatal(err)
	}
	if want := "9 2026-11-01 11-01 09 11-02 10"; fetches != want {
		t.Errorf("spend fetches seeded as %q, want %q", fetches, want)
	}
}
