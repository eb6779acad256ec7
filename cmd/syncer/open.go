package main

// How every command loads the configuration and opens the app: one load and
// one open, told by needs what the command needs checked and how the
// database is to be opened.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"syncer/internal/config"
	"syncer/internal/jobs"
	"syncer/internal/store"
)

// checks says which configuration checks a command needs.
type checks int

const (
	// checkJobs: every enabled job's settings (credentials included), as a
	// command that runs jobs needs.
	checkJobs checks = iota
	// checkNoJobs: every job as if disabled, so no provider credentials are
	// needed: commands that touch no provider (migrate, views) and the
	// track commands, which run no job.
	checkNoJobs
	// checkReading: what reading the database and the configured schedules
	// needs (jobs, gaps, check); each job keeps its configured enabled flag.
	checkReading
)

// needs is what a command needs of the configuration and the database.
type needs struct {
	checks checks
	// enable names jobs the command runs even if the schedule disables
	// them, so their settings are checked too.
	enable []string
	// hashKey: the command needs SYNCER_HASH_KEY.
	hashKey bool
	// daemon: the pool is sized (or an explicit size checked) for every
	// enabled job running at once.
	daemon bool
	// conns: pool connections the command holds at once besides its jobs'
	// (a backfill's days in flight).
	conns int
}

// jobConns is how many pool connections a job holds at once: an MGID agency
// job one per agency in flight (each agency is a transaction of its own),
// any other job one.
func jobConns(cfg config.Config, name string) int {
	switch name {
	case config.JobMGIDBalances, config.JobMGIDSpend:
		return max(1, min(cfg.MGID.AgencyConcurrency, len(cfg.MGID.Agencies)))
	}
	return 1
}

// poolNeeds is what the pool is opened for (store.OpenForJobs): the jobs
// that may run at once (the daemon's enabled jobs), and the connections they
// and the command hold together. The jobs of once run one after another.
func poolNeeds(cfg config.Config, n needs) (jobs, conns int) {
	conns = n.conns
	if n.daemon {
		held := 0
		for _, name := range config.JobNames {
			if cfg.Jobs[name].Enabled {
				jobs++
				held += jobConns(cfg, name)
			}
		}
		conns = max(conns, held)
	}
	for _, name := range n.enable {
		conns = max(conns, jobConns(cfg, name))
	}
	return jobs, conns
}

// load loads the configuration (--config, else SYNCER_CONFIG, then the
// environment) and validates it as n says. Its errors are usage errors.
func load(e env, path string, n needs) (config.Config, error) {
	if path == "" {
		path = lookupEnv(e.environ, config.EnvConfigFile)
	}
	cfg, err := config.LoadEnviron(path, e.environ)
	if err != nil {
		return cfg, usageError{err.Error()}
	}
	switch n.checks {
	case checkReading:
		err = cfg.ValidateForReading()
	case checkNoJobs:
		for name, j := range cfg.Jobs {
			j.Enabled = false
			cfg.Jobs[name] = j
		}
		err = cfg.Validate()
	case checkJobs:
		for _, name := range n.enable {
			j := cfg.Jobs[name]
			j.Enabled = true
			cfg.Jobs[name] = j
		}
		err = cfg.Validate()
	default:
		panic(fmt.Sprintf("open: checks %d", n.checks))
	}
	if err != nil {
		return cfg, usageError{"invalid configuration:\n  " + strings.ReplaceAll(err.Error(), "\n", "\n  ")}
	}
	if n.hashKey {
		if err := cfg.RequireHashKey(); err != nil {
			return cfg, usageError{err.Error()}
		}
	}
	return cfg, nil
}

// open is load, then openConfig: what most commands start with.
func open(ctx context.Context, e env, path string, n needs) (*app, error) {
	cfg, err := load(e, path, n)
	if err != nil {
		return nil, err
	}
	return openConfig(ctx, e, cfg, n)
}

// openConfig opens the app on a configuration already loaded, for the
// commands that look at it in between (backfill's concurrency, an import's
// rows, a token reference).
func openConfig(ctx context.Context, e env, cfg config.Config, n needs) (*app, error) {
	running, conns := poolNeeds(cfg, n)
	log := newLogger(e.stderr, cfg.LogLevel, cfg.LogFormat)
	db, err := store.OpenForJobs(ctx, cfg.DatabaseURL.Value(), running, conns)
	if errors.Is(err, store.ErrInvalidURL) || errors.Is(err, store.ErrPoolTooSmall) {
		return nil, usageError{err.Error()}
	}
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	return &app{
		cfg: cfg, log: log, db: db,
		runner: &jobs.Runner{Store: db, Log: log, Replica: fmt.Sprintf("%s:%d", host, os.Getpid())},
	}, nil
}
