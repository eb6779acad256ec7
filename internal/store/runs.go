package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// RunStart describes a run about to begin.
type RunStart struct {
	Job          string
	Trigger      string     // schedule, catchup, manual, backfill
	ScheduledFor *time.Time // the cron tick, for scheduled runs
	WindowDate   *time.Time // the day, for backfill runs
	Replica      string
}

// RunFinish is how a run ended.
type RunFinish struct {
	Status       string // succeeded, failed, cancelled
	RowsWritten  int64
	Detail       map[string]int64
	ErrorClass   string
	ErrorMessage string
	// Observed: the run read data from its provider (see Run.MarkObserved).
	// Only a succeeded run's reading counts towards freshness.
	Observed bool
}

// ErrTickTaken means another replica already ran (or is running) this tick.
var ErrTickTaken = errors.New("tick already taken by another replica")

// StartRun records a running run and returns its id. For a scheduled run the
// tick is claimed: if a row for the same job and tick exists, ErrTickTaken.
func (db *DB) StartRun(ctx context.Context, r RunStart) (int64, error) {
	var id int64
	err := db.Pool.QueryRow(ctx, `
		INSERT INTO syncer.runs (job, trigger, scheduled_for, window_date, replica)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (job, scheduled_for) WHERE scheduled_for IS NOT NULL DO NOTHING
		RETURNING id`,
		r.Job, r.Trigger, r.ScheduledFor, dateArg(r.WindowDate), r.Replica).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, ErrTickTaken
	}
	if err != nil {
		return 0, fmt.Errorf("record run start: %w", err)
	}
	return id, nil
}

// FinishRun records how run id ended. It runs even when the run's own context
// was cancelled, so a cancelled run is still recorded.
func (db *DB) FinishRun(ctx context.Context, id int64, f RunFinish) error {
	var detail []byte
	if len(f.Detail) > 0 {
		detail, _ = json.Marshal(f.Detail)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_, err := db.Pool.Exec(ctx, `
		UPDATE syncer.runs
		SET finished_at = now(), status = $2, rows_written = $3, detail = $4,
		    error_class = NULLIF($5, ''), error_message = NULLIF($6, ''),
		    observed = $7 AND $2 = 'succeeded'
		WHERE id = $1`,
		id, f.Status, f.RowsWritten, detail, f.ErrorClass, f.ErrorMessage, f.Observed)
	if err != nil {
		return fmt.Errorf("record run finish: %w", err)
	}
	return nil
}

// AbandonRunning marks the job's runs still 'running' as failed. Call it only
// while holding the job's lock: then no live replica can be running them, so
// they were left by a process that died.
func (db *DB) AbandonRunning(ctx context.Context, job string) (int64, error) {
	tag, err := db.Pool.Exec(ctx, abandonSQL, job)
	if err != nil {
		return 0, fmt.Errorf("abandon stale runs of %s: %w", job, err)
	}
	return tag.RowsAffected(), nil
}

const abandonSQL = `
	UPDATE syncer.runs
	SET status = 'failed', finished_at = now(), error_class = 'abandoned',
	    error_message = 'the process running it stopped before it finished'
	WHERE job = $1 AND status = 'running' AND trigger <> 'backfill'`

// LastSuccess is when the job last finished a live run that read provider
// data, by the rule of bi.source_freshness; ok is false if never. Catch-up
// uses it: a backfill or a round that read nothing leaves the source as
// stale as it was, so it must not stop the catch-up run.
func (db *DB) LastSuccess(ctx context.Context, job string) (at time.Time, ok bool, err error) {
	var t *time.Time
	err = db.Pool.QueryRow(ctx, `
		SELECT max(finished_at) FROM syncer.runs
		WHERE job = $1 AND status = 'succeeded' AND observed AND trigger <> 'backfill'`, job).Scan(&t)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("last success of %s: %w", job, err)
	}
	if t == nil {
		return time.Time{}, false, nil
	}
	return *t, true, nil
}

// LastRun is the most recent run of a job.
type LastRun struct {
	ID         int64
	Trigger    string
	Status     string
	StartedAt  time.Time
	FinishedAt *time.Time
	Rows       int64
	ErrorClass string
	Error      string
}

// LastRuns returns the latest run of each job that has one.
func (db *DB) LastRuns(ctx context.Context) (map[string]LastRun, error) {
	rows, err := db.Pool.Query(ctx, `
		SELECT DISTINCT ON (job) job, id, trigger, status, started_at, finished_at, rows_written,
		       coalesce(error_class, ''), coalesce(error_message, '')
		FROM syncer.runs ORDER BY job, started_at DESC, id DESC`)
	if err != nil {
		return nil, fmt.Errorf("last runs: %w", err)
	}
	defer rows.Close()
	out := map[string]LastRun{}
	for rows.Next() {
		var job string
		var r LastRun
		if err := rows.Scan(&job, &r.ID, &r.Trigger, &r.Status, &r.StartedAt, &r.FinishedAt, &r.Rows, &r.ErrorClass, &r.Error); err != nil {
			return nil, err
		}
		out[job] = r
	}
	return out, rows.Err()
}

// JobLock is a held advisory lock on a job.
type JobLock struct {
	conn   *pgxpool.Conn
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

func (db *DB) tryLock(ctx context.Context, name string) (*JobLock, bool, error) {
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("lock %s: %w", name, err)
	}
	key := LockKey(name)
	var ok bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&ok); err != nil {
		conn.Release()
		return nil, false, fmt.Errorf("lock %s: %w", name, err)
	}
	if !ok {
		conn.Release()
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
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("lock job %s: %w", job, err)
	}
	l := &JobLock{conn: conn, key: LockKey("job:" + job), shared: true}
	fail := func(err error) (*JobLock, int64, error) {
		_ = conn.Hijack().Close(context.Background()) // drops whatever this session holds
		return nil, 0, fmt.Errorf("lock job %s: %w", job, err)
	}
	var alone bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, l.key).Scan(&alone); err != nil {
		return fail(err)
	}
	if alone {
		tag, err := conn.Exec(ctx, abandonSQL, job)
		if err != nil {
			return fail(err)
		}
		abandoned = tag.RowsAffected()
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

// Release drops the lock and returns the connection to the pool.
func (l *JobLock) Release() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	unlock := `SELECT pg_advisory_unlock($1)`
	if l.shared {
		unlock = `SELECT pg_advisory_unlock_shared($1)`
	}
	if _, err := l.conn.Exec(ctx, unlock, l.key); err != nil {
		// The lock may still be held: close the connection so Postgres drops it.
		_ = l.conn.Hijack().Close(ctx)
		return
	}
	l.conn.Release()
}

// LockKey maps a name to an advisory lock key. FNV-64a is stable across
// versions and replicas, unlike Postgres' hashtext.
func LockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte("syncer:" + name))
	return int64(h.Sum64())
}

func dateArg(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.Format(time.DateOnly)
}
