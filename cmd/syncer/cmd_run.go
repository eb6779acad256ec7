package main

import (
	"context"
	"errors"
	"io"
	"time"

	"syncer/internal/config"
	"syncer/internal/jobs"
	"syncer/internal/store"
)

// stopBound is how long `run` waits, after the grace period, for cancelled
// runs to record their end before it exits anyway: SIGTERM always ends the
// process within SYNCER_SHUTDOWN_GRACE plus this plus closeBound, the wait
// for the pool to close. When the runs did not end within stopBound the
// database is not answering, and closing its connections politely would
// wait on it again: the pool is not waited for, so a silent database ends
// the process within the grace plus stopBound. A run cut off here stays
// 'running' and the next process marks it abandoned.
const (
	stopBound  = 2500 * time.Millisecond
	closeBound = time.Second
)

func cmdRun(ctx context.Context, e env, args []string) error {
	fs, path := newFlags("run", e)
	noMigrate := fs.Bool("no-migrate", false, "do not apply pending migrations at start-up")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("run takes no arguments")
	}
	a, err := open(ctx, e, *path, needs{daemon: true})
	if err != nil {
		return err
	}
	closed := false
	defer func() {
		if !closed {
			a.close()
		}
	}()
	// The HTTP side lives until run returns, through the shutdown grace.
	httpCtx, stopHTTP := context.WithCancel(context.WithoutCancel(ctx))
	defer stopHTTP()
	obs, err := a.startObserver(httpCtx)
	if err != nil {
		return err
	}
	if a.cfg.AutoMigrate && !*noMigrate {
		if err := migrateUp(ctx, a, e.stderr); err != nil {
			return err
		}
	}
	// A transfer a stopped process left in flight is settled before any
	// job could plan a new one for the same client.
	a.reconcileTransfersAtStart(ctx)
	if err := a.recordSchedules(ctx); err != nil {
		return err
	}
	built, err := a.buildJobs()
	if err != nil {
		return err
	}
	var entries []jobs.Entry
	for _, n := range config.JobNames {
		if j, ok := built[n]; ok {
			entries = append(entries, jobs.Entry{Job: j, Schedule: a.cfg.Jobs[n].Schedule, Timeout: a.cfg.Jobs[n].Timeout})
		}
	}
	sched, err := jobs.NewScheduler(a.runner, entries)
	if err != nil {
		return usageError{err.Error()}
	}
	// Runs get their own context: a signal stops new runs at once, but a
	// running one (scheduled or catch-up) keeps going for the grace period
	// before it is cancelled.
	runCtx, cancelRuns := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelRuns()
	sched.Start(runCtx)
	obs.scheduling(sched)
	stopReconcile := a.reconcilePeriodically(runCtx, a.reconcileEvery(time.Now()))
	a.log.Info("syncer running", "jobs", len(entries), "replica", a.runner.Replica,
		"pool_max_conns", a.db.MaxConns())

	<-ctx.Done()
	a.log.Info("stopping: no new runs; waiting for running ones", "grace", a.cfg.ShutdownGrace)
	stopped := sched.Stop()
	stopReconcile()
	silent := false
	select {
	case <-stopped.Done():
	case <-time.After(a.cfg.ShutdownGrace):
		a.log.Warn("grace period over: cancelling running jobs")
		cancelRuns()
		select {
		case <-stopped.Done():
		case <-time.After(stopBound):
			silent = true
			a.log.Error("runs did not end after cancellation (the database may not be answering); exiting anyway: the next start marks them abandoned",
				"waited", stopBound)
		}
	}
	// pgxpool.Close waits for connections in use: bounded, so that a
	// connection stuck on a silent network cannot hold the exit; not
	// waited for at all when the runs already found the database silent.
	closed = true
	done := make(chan struct{})
	go func() { a.close(); close(done) }()
	wait := closeBound
	if silent {
		wait = 0
	}
	select {
	case <-done:
	case <-time.After(wait):
		a.log.Warn("database connections did not close in time; exiting anyway", "waited", wait)
	}
	a.log.Info("stopped")
	return nil
}

func migrateUp(ctx context.Context, a *app, w io.Writer) error {
	m, err := a.db.NewMigrations()
	if err != nil {
		return err
	}
	defer m.Close()
	return m.Up(ctx, w)
}

func cmdMigrate(ctx context.Context, e env, args []string) error {
	fs, path := newFlags("migrate", e)
	destroy := fs.Bool("destroy-data", false, "down: allow dropping the transfer journal or the tracked targets")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("migrate takes one of: up, down, status")
	}
	verb := fs.Arg(0)
	if verb != "up" && verb != "down" && verb != "status" {
		return usagef("migrate %q: want up, down or status", verb)
	}
	a, err := open(ctx, e, *path, needs{checks: checkNoJobs})
	if err != nil {
		return err
	}
	defer a.close()
	m, err := a.db.NewMigrations()
	if err != nil {
		return err
	}
	defer m.Close()
	switch verb {
	case "up":
		return m.Up(ctx, e.stdout)
	case "down":
		err := m.Down(ctx, e.stdout, store.DownOptions{DestroyData: *destroy})
		if errors.Is(err, store.ErrWouldDestroyData) || errors.Is(err, store.ErrTransfersOpen) {
			return usageError{err.Error()}
		}
		return err
	}
	return m.Status(ctx, e.stdout)
}

func cmdConfig(ctx context.Context, e env, args []string) error {
	fs, path := newFlags("config", e)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 || fs.Arg(0) != "check" {
		return usagef("usage: syncer config check [--config FILE]")
	}
	cfg, err := load(e, *path, needs{})
	if err != nil {
		return err
	}
	_, err = io.WriteString(e.stdout, cfg.Redacted())
	return err
}
