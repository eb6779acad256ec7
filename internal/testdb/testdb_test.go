package testdb_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/jackc/pgx/v5"

	"syncer/internal/store"
	"syncer/internal/testdb"
)

// The store is sealed: outside it (this test binary does not build the
// store's export_test.go), *store.DB offers no raw SQL, and the methods that
// only mean something inside a transaction are *store.Tx's alone. A method
// put back would pass every other test; this one fails.
func TestStoreIsSealed(t *testing.T) {
	t.Parallel()
	db, tx := reflect.TypeFor[*store.DB](), reflect.TypeFor[*store.Tx]()
	for _, raw := range []string{"Exec", "Query", "QueryRow", "CopyFrom", "SendBatch", "Begin", "Acquire", "Pool"} {
		if _, ok := db.MethodByName(raw); ok {
			t.Errorf("*store.DB exports %s: raw SQL outside the store", raw)
		}
	}
	for _, only := range []string{"UpsertSpend", "ClaimDay", "LockDay", "ConnClosed"} {
		if _, ok := db.MethodByName(only); ok {
			t.Errorf("*store.DB has %s, a transaction-only method", only)
		}
		if _, ok := tx.MethodByName(only); !ok {
			t.Errorf("*store.Tx lacks %s", only)
		}
	}
}

// testdb's own statements reach the test's database: what Exec writes,
// Count, QueryRow and Query read back.
func TestHelpersShareTheTestDatabase(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	if n := testdb.Exec(t, db, `INSERT INTO syncer.settings (key, value) VALUES ('testdb', 'a'), ('testdb2', 'b')`); n != 2 {
		t.Errorf("Exec affected %d rows, want 2", n)
	}
	if n := testdb.Count(t, db, `SELECT count(*) FROM syncer.settings WHERE key LIKE 'testdb%'`); n != 2 {
		t.Errorf("Count = %d, want 2", n)
	}
	var v string
	if err := testdb.QueryRow(t, db, `SELECT value FROM syncer.settings WHERE key = $1`, "testdb2").Scan(&v); err != nil || v != "b" {
		t.Errorf("QueryRow: %q %v", v, err)
	}
	if err := testdb.QueryRow(t, db, `SELECT value FROM syncer.settings WHERE key = 'none'`).Scan(&v); !errors.Is(err, pgx.ErrNoRows) {
		t.Errorf("QueryRow of no row: %v, want pgx.ErrNoRows", err)
	}
	rows, err := testdb.Query(t, db, `SELECT key FROM syncer.settings WHERE key LIKE 'testdb%' ORDER BY key`)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || !reflect.DeepEqual(keys, []string{"testdb", "testdb2"}) {
		t.Errorf("Query: %q %v", keys, err)
	}
}
