package store

import (
	"context"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// JobLock is a held session advisory lock. It lives on a connection of its
// own, opened for it and outside the pool: a lock taken from the pool would
// hold one of the connections the work needs, and when as many jobs as the
// pool has connections ticked at once, each would hold a lock and wait for
// a second connection that never came.
type JobLock struct {
	mu     sync.Mutex // a pgx.Conn is not safe for concurrent use: Ping vs Release
	conn   *pgx.Conn
	key    int64
	shared bool
}

// TryLockJob takes the job's session advisory lock on a dedicated
// connection, so that across replicas only one runs the job at a time. ok is
// false when another session holds it. If the process dies, Postgres drops
// the lock with the connection.
func (db *DB) TryLockJob(ctx context.Context, name string) (*JobLock, bool, error) {
	return db.tryLock(ctx, "job:"+name)
}

// connectLock opens a connection outside the pool for one lock.
func (db *DB) connectLock(ctx context.Context) (*pgx.Conn, error) {
	if db.lockConfig == nil {
		db.lockConfig = db.pool.Config().ConnConfig.Copy()
	}
	return pgx.ConnectConfig(ctx, db.lockConfig.Copy())
}

func (db *DB) tryLock(ctx context.Context, name string) (*JobLock, bool, error) {
	conn, err := db.connectLock(ctx)
	if err != nil {
		return nil, false, &DatabaseError{Op: "lock " + name, Err: err}
	}
	key := LockKey(name)
	var ok bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&ok); err != nil {
		closeConn(conn)
		return nil, false, &DatabaseError{Op: "lock " + name, Err: err}
	}
	if !ok {
		closeConn(conn)
		return nil, false, nil
	}
	return &JobLock{conn: conn, key: key}, true, nil
}

// LockJobShared takes the job's advisory lock in shared mode, for a job whose
// runs on several replicas at once split its work between them: they all
// hold it together. It still marks the job's runs left 'running' by a dead
// process as abandoned, but only when it finds no other holder: for that
// instant it holds the lock exclusively, so nobody can be running the job.
// The shared lock is then taken on the same session before the exclusive
// one is let go, leaving no gap. abandoned counts the runs so marked.
func (db *DB) LockJobShared(ctx context.Context, job string) (lock *JobLock, abandoned int64, err error) {
	return db.lockShared(ctx, "job:"+job, func(tx pgx.Tx) (int64, error) { return abandon(ctx, tx, job) })
}

// LockBackfill takes the job's backfill lock in shared mode for as long as a
// backfill runs: every live backfill holds it, so whoever gets it
// exclusively knows that the job's backfill runs still marked running were
// left by a dead process. Taking it marks those as abandoned, as
// LockJobShared does for its job.
func (db *DB) LockBackfill(ctx context.Context, job string) (lock *JobLock, abandoned int64, err error) {
	return db.lockShared(ctx, "backfill:"+job, func(tx pgx.Tx) (int64, error) {
		tag, err := tx.Exec(ctx, abandonSQL+` AND trigger = 'backfill'`, job)
		return tag.RowsAffected(), err
	})
}

func (db *DB) lockShared(ctx context.Context, name string, abandonAlone func(pgx.Tx) (int64, error)) (*JobLock, int64, error) {
	conn, err := db.connectLock(ctx)
	if err != nil {
		return nil, 0, &DatabaseError{Op: "lock " + name, Err: err}
	}
	l := &JobLock{conn: conn, key: LockKey(name), shared: true}
	fail := func(err error) (*JobLock, int64, error) {
		closeConn(conn) // drops whatever this session holds
		return nil, 0, &DatabaseError{Op: "lock " + name, Err: err}
	}
	var alone bool
	var abandoned int64
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, l.key).Scan(&alone); err != nil {
		return fail(err)
	}
	if alone {
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			abandoned, err = abandonAlone(tx)
			return err
		})
		if err != nil {
			return fail(err)
		}
	}
	// Blocks at most while another replica runs the exclusive step above.
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock_shared($1)`, l.key); err != nil {
		return fail(err)
	}
	if alone {
		if _, err := conn.Exec(ctx, `SELECT pg_advisory_unlock($1)`, l.key); err != nil {
			return fail(err)
		}
	}
	return l, abandoned, nil
}

// Ping checks that the lock's session is alive, within ctx's deadline. While
// it is, the lock is held: nothing outside the session can release a
// session lock. An error means the lock may be gone (the backend was
// terminated, the connection reset) or cannot be vouched for (the database
// stopped answering).
func (l *JobLock) Ping(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn == nil {
		return fmt.Errorf("lock released")
	}
	if _, err := l.conn.Exec(ctx, `SELECT 1`); err != nil {
		return &DatabaseError{Op: "job lock heartbeat", Err: err}
	}
	return nil
}

// Release unlocks and closes the lock's connection. The unlock is explicit,
// so the lock is free when Release returns (a closed socket alone frees it
// only once the backend notices); if the unlock fails, closing the session
// frees it anyway. Neither waits on a server that stopped answering for
// longer than closeTimeout.
func (l *JobLock) Release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	unlock := `SELECT pg_advisory_unlock($1)`
	if l.shared {
		unlock = `SELECT pg_advisory_unlock_shared($1)`
	}
	_, _ = l.conn.Exec(ctx, unlock, l.key)
	closeConn(l.conn)
	l.conn = nil
}

const closeTimeout = 2 * time.Second

func closeConn(c *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	_ = c.Close(ctx)
}

// LockKey maps a name to an advisory lock key. FNV-64a is stable across
// versions and replicas, unlike Postgres' hashtext.
func LockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte("syncer:" + name))
	return int64(h.Sum64())
}

// AbandonDeadBackfills marks the job's backfill runs still 'running' as
// abandoned if no other backfill of the job is alive, on the session of l,
// this backfill's own LockBackfill lock. A backfill calls it when all its
// own runs have ended: a process killed just before it started may still
// have held its lock when LockBackfill looked (Postgres ends a dead
// client's session a moment later).
func (db *DB) AbandonDeadBackfills(ctx context.Context, l *JobLock, job string) (int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn == nil {
		return 0, fmt.Errorf("lock released")
	}
	var n int64
	var alone bool
	// Exclusive while this session holds it shared succeeds only when no
	// other session holds it.
	if err := l.conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, l.key).Scan(&alone); err != nil {
		return 0, &DatabaseError{Op: "abandon dead backfills", Err: err}
	}
	if !alone {
		return 0, nil
	}
	tag, err := l.conn.Exec(ctx, abandonSQL+` AND trigger = 'backfill'`, job)
	if err == nil {
		n = tag.RowsAffected()
	}
	if _, uerr := l.conn.Exec(ctx, `SELECT pg_advisory_unlock($1)`, l.key); uerr != nil && err == nil {
		err = uerr
	}
	if err != nil {
		return 0, &DatabaseError{Op: "abandon dead backfills", Err: err}
	}
	return n, nil
}
