package main

import (
	"context"
	"io"

	"time"

	"syncer/internal/config"
	"syncer/internal/jobs"
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
	a, err := loadAndOpen(ctx, e, *path)
	if err != nil {
		return err
	}
	defer a.close()
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
	// running one keeps going for the grace period before it is cancelled.
	runCtx, cancelRuns := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelRuns()
	sched.Start(runCtx)
	obs.scheduling(sched)
	a.log.Info("syncer running", "jobs", len(entries), "replica", a.runner.Replica)

	<-ctx.Done()
	a.log.Info("stopping: no new runs; waiting for running ones", "grace", a.cfg.ShutdownGrace)
	stopped := sched.Stop()
	select {
	case <-stopped.Done():
	case <-time.After(a.cfg.ShutdownGrace):
		a.log.Warn("grace period over: cancelling running jobs")
		cancelRuns()
		<-stopped.Done()
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
	a, err := openForDatabase(ctx, e, *path)
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
		return m.Down(ctx, e.stdout)
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
	cfg, err := loadConfig(e, *path)
	if err != nil {
		return err
	}
	_, err = io.WriteString(e.stdout, cfg.Redacted())
	return err
}
