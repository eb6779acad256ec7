// Package testdb gives each test its own freshly migrated Postgres database.
//
// The server is, in order: TEST_DATABASE_URL, a server on 127.0.0.1:5432, or
// a throwaway container through testcontainers-go when a Docker engine is
// reachable and the test binary was built with -tags testcontainers (make
// test adds it only then). With none of them the test fails and says how to get one: a
// test that skips for want of a database would pass without testing anything.
package testdb

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"syncer/internal/store"
	"syncer/migrations"
)

const localURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

var (
	serverOnce sync.Once
	serverURL  string
	serverErr  error
)

// New returns a pool on a new database, migrated to the latest version and
// dropped when the test ends.
func New(t testing.TB) *store.DB {
	t.Helper()
	db, _ := NewWithURL(t)
	return db
}

// NewWithURL is New that also returns the database's URL, for tests that run
// the syncer binary or a second "replica" against the same database.
func NewWithURL(t testing.TB) (*store.DB, string) {
	t.Helper()
	serverOnce.Do(func() { serverURL, serverErr = findServer() })
	if serverErr != nil {
		t.Fatalf("no Postgres for tests: %v\n"+
			"Set TEST_DATABASE_URL=postgres://user@host:5432/postgres, start a server on 127.0.0.1:5432 "+
			"(Debian: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start), "+
			"or run a Docker engine and build with -tags testcontainers (make test does when Docker answers).", serverErr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tmpl, err := template(ctx)
	if err != nil {
		t.Fatalf("test database template: %v", err)
	}
	name := "syncer_test_" + randomHex(6)
	admin, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		t.Fatalf("connect to test server: %v", err)
	}
	defer admin.Close(ctx)
	if err := createFromTemplate(ctx, admin, name, tmpl); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	dbURL := withDatabase(serverURL, name)
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 8
	db, err := store.OpenConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	register(db, dbURL)
	t.Cleanup(func() {
		unregister(db)
		db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, serverURL)
		if err != nil {
			t.Logf("drop test database %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Logf("drop test database %s: %v", name, err)
		}
	})
	return db, dbURL
}

func findServer() (string, error) {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		if err := ping(u); err != nil {
			return "", fmt.Errorf("TEST_DATABASE_URL does not answer: %w", err)
		}
		return u, nil
	}
	localErr := ping(localURL)
	if localErr == nil {
		return localURL, nil
	}
	u, err := startContainer()
	if err != nil {
		return "", fmt.Errorf("TEST_DATABASE_URL is not set; 127.0.0.1:5432: %v; testcontainers: %v", localErr, err)
	}
	return u, nil
}

func ping(u string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, u)
	if err != nil {
		return err
	}
	return c.Close(ctx)
}

var (
	tmplMu   sync.Mutex
	tmplName string
)

// template creates, once per server and migration set, a database holding the
// migrated schema; each test copies it, which is far cheaper than migrating.
// Its name carries a hash of the migrations, so a changed migration gets a
// new template, and an advisory lock keeps parallel test binaries from
// building the same one twice.
func template(ctx context.Context) (string, error) {
	tmplMu.Lock()
	defer tmplMu.Unlock()
	if tmplName != "" {
		return tmplName, nil
	}
	sum, err := migrationsHash()
	if err != nil {
		return "", err
	}
	name := "syncer_tmpl_" + sum[:12]
	admin, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return "", err
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, `SELECT pg_advisory_lock($1)`, store.LockKey("testdb-template")); err != nil {
		return "", err
	}
	defer admin.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, store.LockKey("testdb-template"))
	var ready bool
	if err := admin.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1 AND datistemplate)`, name).Scan(&ready); err != nil {
		return "", err
	}
	if !ready {
		if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()); err != nil {
			return "", err
		}
		if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
			return "", err
		}
		db, err := store.Open(ctx, withDatabase(serverURL, name))
		if err != nil {
			return "", err
		}
		m, err := db.NewMigrations()
		if err == nil {
			err = m.Up(ctx, io.Discard)
			m.Close()
		}
		db.Close()
		if err != nil {
			return "", err
		}
		// Only a finished template is marked as one, so a crash mid-way is rebuilt.
		if _, err := admin.Exec(ctx, "ALTER DATABASE "+pgx.Identifier{name}.Sanitize()+" IS_TEMPLATE true"); err != nil {
			return "", err
		}
	}
	tmplName = name
	return name, nil
}

func createFromTemplate(ctx context.Context, admin *pgx.Conn, name, tmpl string) error {
	var err error
	// Postgres refuses to copy a template while another session is copying
	// it; such clashes between parallel tests are brief, so retry.
	for i := 0; i < 50; i++ {
		_, err = admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+" TEMPLATE "+pgx.Identifier{tmpl}.Sanitize())
		if err == nil {
			return nil
		}
		time.Sleep(time.Duration(20+i*10) * time.Millisecond)
	}
	return err
}

func migrationsHash() (string, error) {
	h := sha256.New()
	err := fs.WalkDir(migrations.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(migrations.FS, p)
		if err != nil {
			return err
		}
		h.Write([]byte(p))
		h.Write(b)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil)), err
}

func withDatabase(u, name string) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	p.Path = "/" + name
	return p.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// The store's raw SQL is sealed (unexported), so the statements a test runs
// itself (a count, a fixture row, a clock moved back) go through testdb, on a
// small pool of testdb's own on the same database, opened on first use.
// Every *store.DB testdb hands out (New, NewWithURL, Open) is registered
// with its URL; the helpers below fail the test for any other.
var raw = struct {
	sync.Mutex
	urls  map[*store.DB]string
	pools map[*store.DB]*pgxpool.Pool
}{urls: map[*store.DB]string{}, pools: map[*store.DB]*pgxpool.Pool{}}

func register(db *store.DB, url string) {
	raw.Lock()
	defer raw.Unlock()
	raw.urls[db] = url
}

// unregister closes db's raw pool, before db's database is dropped.
func unregister(db *store.DB) {
	raw.Lock()
	p := raw.pools[db]
	delete(raw.pools, db)
	delete(raw.urls, db)
	raw.Unlock()
	if p != nil {
		p.Close()
	}
}

// rawMaxConns: a test's own statements run one at a time, bar a poll beside
// a fixture; a couple of connections, so a test database costs little more
// than the store's pool.
const rawMaxConns = 2

func pool(t testing.TB, db *store.DB) *pgxpool.Pool {
	t.Helper()
	raw.Lock()
	defer raw.Unlock()
	if p := raw.pools[db]; p != nil {
		return p
	}
	url, ok := raw.urls[db]
	if !ok {
		t.Fatalf("testdb: this *store.DB was not made by testdb (New, NewWithURL, Open)")
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	cfg.MaxConns = rawMaxConns
	cfg.MinConns = 0
	cfg.AfterConnect = store.PrepareConn
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 10 * time.Second
	}
	p, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatalf("testdb: open a pool: %v", err)
	}
	raw.pools[db] = p
	return p
}

// queryTimeout bounds each statement a test runs here: a stalled server
// fails the test, not the whole package at its timeout.
const queryTimeout = 30 * time.Second

// Count runs a query that returns one number (a count(*)) on db and returns
// it, failing the test if the query fails. It is the one helper every
// package's tests use to look at what a run left in the database, so the
// way tests read the store is in one place.
func Count(t testing.TB, db *store.DB, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := QueryRow(t, db, sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// Exec runs a statement on db's database (a fixture, a row aged by hand)
// and returns the rows it affected, failing the test if it fails.
func Exec(t testing.TB, db *store.DB, sql string, args ...any) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), queryTimeout)
	defer cancel()
	tag, err := pool(t, db).Exec(ctx, sql, args...)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return tag.RowsAffected()
}

// Row is one row of QueryRow, read by its Scan.
type Row struct {
	row    pgx.Row
	cancel context.CancelFunc
}

// Scan reads the row into dest (pgx's rules, money.Amount included); it
// returns pgx.ErrNoRows for no row, as the test may mean to check.
func (r Row) Scan(dest ...any) error {
	defer r.cancel()
	return r.row.Scan(dest...)
}

// QueryRow runs a query of one row on db's database, to read several
// columns of what a run left; the error comes with Scan.
func QueryRow(t testing.TB, db *store.DB, sql string, args ...any) Row {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), queryTimeout)
	return Row{row: pool(t, db).QueryRow(ctx, sql, args...), cancel: cancel}
}

// Query runs a query of many rows on db's database. The caller closes the
// rows; their deadline ends with the test at the latest.
func Query(t testing.TB, db *store.DB, sql string, args ...any) (pgx.Rows, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), queryTimeout)
	t.Cleanup(cancel)
	return pool(t, db).Query(ctx, sql, args...)
}
