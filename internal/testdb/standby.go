package testdb

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"syncer/internal/store"
	"syncer/internal/testutil/tcpproxy"
)

// PGBinGlob is where the machine's PostgreSQL server binaries are looked
// for (Debian's postgresql package; scripts/deps.sh installs it).
const PGBinGlob = "/usr/lib/postgresql/*/bin"

// PGDatabase is the database the pair's primary holds, migrated.
const PGDatabase = "syncer"

// Pair is a primary and a streaming hot standby of its own, started from the
// machine's PostgreSQL binaries in a temporary directory, on free ports, and
// torn down when the test ends. The standby streams from the primary through
// Stream, a TCP proxy in the test process, so a test can cut replication
// without touching either server.
type Pair struct {
	Primary, Standby *Cluster
	Stream           *tcpproxy.Proxy
}

// Cluster is one PostgreSQL server of a Pair.
type Cluster struct {
	Name string
	Dir  string // data directory
	Port int
	t    testing.TB
	bin  string
	sock string // unix socket directory
	log  string // server log file
}

// NewPair starts a primary with a migrated PGDatabase and a standby made by
// pg_basebackup -R, and waits until the standby streams. It never skips:
// without the binaries, or as root without a postgres user (initdb refuses
// to run as root, so root runs them through runuser), the test fails and
// says what to install.
func NewPair(t testing.TB) *Pair {
	t.Helper()
	bin, err := pgBin()
	if err != nil {
		t.Fatalf("primary+standby: %v", err)
	}
	base, err := os.MkdirTemp("", "syncer-pgpair-")
	if err != nil {
		t.Fatal(err)
	}
	if err := handToPostgres(base); err != nil {
		os.RemoveAll(base)
		t.Fatalf("primary+standby: %v", err)
	}
	p := &Pair{
		Primary: &Cluster{Name: "primary", Dir: filepath.Join(base, "primary"), t: t, bin: bin, sock: base, log: filepath.Join(base, "primary.log")},
		Standby: &Cluster{Name: "standby", Dir: filepath.Join(base, "standby"), t: t, bin: bin, sock: base, log: filepath.Join(base, "standby.log")},
	}
	t.Cleanup(func() {
		for _, c := range []*Cluster{p.Standby, p.Primary} {
			if t.Failed() {
				c.logTail()
			}
			c.stopQuietly()
		}
		os.RemoveAll(base)
	})
	p.Primary.Port = freePort(t)
	p.Primary.run("initdb", "-D", p.Primary.Dir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions")
	// Small and quick: fsync off (nothing here must survive the machine),
	// and a standby that retries its primary every 100 ms once cut.
	conf := "\nfsync = off\nfull_page_writes = off\nshared_buffers = 16MB\nmax_connections = 40\n" +
		"wal_retrieve_retry_interval = 100ms\nwal_receiver_status_interval = 1s\nlisten_addresses = '127.0.0.1'\n"
	if err := appendFile(filepath.Join(p.Primary.Dir, "postgresql.conf"), conf); err != nil {
		t.Fatal(err)
	}
	p.Primary.Start()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := migrateNew(ctx, p.Primary.URL("postgres"), PGDatabase); err != nil {
		t.Fatalf("primary: migrate %s: %v", PGDatabase, err)
	}

	p.Stream = tcpproxy.Start(t, net.JoinHostPort("127.0.0.1", strconv.Itoa(p.Primary.Port)))
	p.Standby.Port = freePort(t)
	// -R writes primary_conninfo (through the proxy) and standby.signal.
	p.Standby.run("pg_basebackup", "-h", "127.0.0.1", "-p", strconv.Itoa(p.Stream.Port()), "-U", "postgres",
		"-D", p.Standby.Dir, "-R", "-X", "stream", "--checkpoint=fast", "--no-sync")
	p.Standby.Start()
	p.WaitStreaming(t, 30*time.Second)
	return p
}

// URL is a connection string to database db on this cluster.
func (c *Cluster) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.Port, db)
}

// MultiHostURL is what an operator puts in DATABASE_URL: both hosts, and
// target_session_attrs=read-write so that pgx connects only to whichever is
// the primary now.
func (p *Pair) MultiHostURL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d,127.0.0.1:%d/%s?sslmode=disable&target_session_attrs=read-write",
		p.Primary.Port, p.Standby.Port, PGDatabase)
}

// Open opens a store on PGDatabase of url, closed when the test ends.
func Open(t testing.TB, url string) *store.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := store.Open(ctx, url)
	if err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	register(db, url)
	t.Cleanup(func() {
		unregister(db)
		db.Close()
	})
	return db
}

// WaitStreaming waits until the primary lists a standby as streaming.
func (p *Pair) WaitStreaming(t testing.TB, within time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	var last error
	for ctx.Err() == nil {
		var n int
		last = query(ctx, p.Primary.URL("postgres"), `SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'`, &n)
		if last == nil && n > 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the standby did not stream within %s (last read: %v)", within, last)
}

// WaitReplayed waits until the standby has replayed everything the primary
// has written so far.
func (p *Pair) WaitReplayed(t testing.TB, within time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	var lsn string
	if err := query(ctx, p.Primary.URL("postgres"), `SELECT pg_current_wal_lsn()::text`, &lsn); err != nil {
		t.Fatal(err)
	}
	var last error
	for ctx.Err() == nil {
		var ok bool
		last = query(ctx, p.Standby.URL("postgres"), `SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn`, &ok, lsn)
		if last == nil && ok {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the standby did not replay %s within %s (last read: %v)", lsn, within, last)
}

// Start starts the server and waits until it accepts connections.
func (c *Cluster) Start() {
	c.t.Helper()
	c.run("pg_ctl", "-D", c.Dir, "-l", c.log, "-w", "-t", "60", "start",
		"-o", fmt.Sprintf("-p %d -k %s", c.Port, c.sock))
}

// Kill stops the server at once, as a crash would (pg_ctl stop -m immediate).
func (c *Cluster) Kill() {
	c.t.Helper()
	c.run("pg_ctl", "-D", c.Dir, "-w", "-t", "60", "stop", "-m", "immediate")
}

// Promote makes a standby the primary and waits until it accepts writes.
func (c *Cluster) Promote() {
	c.t.Helper()
	c.run("pg_ctl", "-D", c.Dir, "-w", "-t", "60", "promote")
}

func (c *Cluster) stopQuietly() {
	if _, err := os.Stat(filepath.Join(c.Dir, "postmaster.pid")); err != nil {
		return
	}
	cmd := asPostgres(filepath.Join(c.bin, "pg_ctl"), "-D", c.Dir, "-w", "-t", "30", "stop", "-m", "immediate")
	_ = cmd.Run()
}

func (c *Cluster) logTail() {
	b, err := os.ReadFile(c.log)
	if err != nil {
		return
	}
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	c.t.Logf("%s server log (tail):\n%s", c.Name, b)
}

// run runs one of the PostgreSQL binaries as the postgres user and fails
// the test with its output if it fails.
func (c *Cluster) run(prog string, args ...string) {
	c.t.Helper()
	cmd := asPostgres(filepath.Join(c.bin, prog), args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		c.logTail()
		c.t.Fatalf("%s %s: %v\n%s", prog, strings.Join(args, " "), err, out.String())
	}
}

// asPostgres runs prog as the postgres user when we are root (initdb and
// postgres refuse root), else as ourselves.
func asPostgres(prog string, args ...string) *exec.Cmd {
	if os.Geteuid() == 0 {
		return exec.Command("runuser", append([]string{"-u", "postgres", "--", prog}, args...)...)
	}
	return exec.Command(prog, args...)
}

// handToPostgres lets the postgres user own dir when we are root.
func handToPostgres(dir string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return fmt.Errorf("running as root needs a postgres user to run the server as (scripts/deps.sh installs Debian's postgresql, which creates it): %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}
	return os.Chown(dir, uid, gid)
}

// pgBin is the newest PostgreSQL's bin directory under PGBinGlob.
func pgBin() (string, error) {
	dirs, _ := filepath.Glob(PGBinGlob)
	dirs = slices.DeleteFunc(dirs, func(d string) bool {
		_, err := os.Stat(filepath.Join(d, "pg_basebackup"))
		return err != nil
	})
	if len(dirs) == 0 {
		return "", fmt.Errorf("no PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup) under %s: run scripts/deps.sh, which installs Debian's postgresql", PGBinGlob)
	}
	slices.SortFunc(dirs, func(a, b string) int { return pgVersion(a) - pgVersion(b) })
	return dirs[len(dirs)-1], nil
}

func pgVersion(bin string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(bin)))
	return v
}

// freePort asks the kernel for a free port. The server binds it a moment
// later; on this machine nothing else takes ports from the ephemeral range
// by number, so the gap is harmless.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func appendFile(path, s string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(f, s); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// migrateNew creates database name on the server of adminURL and migrates it.
func migrateNew(ctx context.Context, adminURL, name string) error {
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return err
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return err
	}
	db, err := store.Open(ctx, withDatabase(adminURL, name))
	if err != nil {
		return err
	}
	defer db.Close()
	m, err := db.NewMigrations()
	if err != nil {
		return err
	}
	defer m.Close()
	return m.Up(ctx, io.Discard)
}

func query(ctx context.Context, url, sql string, dst any, args ...any) error {
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	return c.QueryRow(ctx, sql, args...).Scan(dst)
}
