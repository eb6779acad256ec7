package main

// Every way a command loads the configuration and opens the app, in one
// file: which configuration checks a command needs (credentials of enabled
// jobs, reading only, the track commands'), and how the database is opened.

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

// loadConfig loads and validates; enable names jobs the command will run
// even if the schedule has them disabled, so their settings are checked too.
func loadConfig(e env, path string, enable ...string) (config.Config, error) {
	return loadAdjusted(e, path, func(c *config.Config) {
		for _, name := range enable {
			j := c.Jobs[name]
			j.Enabled = true
			c.Jobs[name] = j
		}
	})
}

// loadAdjusted loads the configuration (--config, else SYNCER_CONFIG, then
// the environment), lets adjust change it, and validates the result.
func loadAdjusted(e env, path string, adjust func(*config.Config)) (config.Config, error) {
	if path == "" {
		path = lookupEnv(e.environ, config.EnvConfigFile)
	}
	cfg, err := config.LoadEnviron(path, e.environ)
	if err != nil {
		return cfg, usageError{err.Error()}
	}
	adjust(&cfg)
	if err := cfg.Validate(); err != nil {
		return cfg, usageError{"invalid configuration:\n  " + strings.ReplaceAll(err.Error(), "\n", "\n  ")}
	}
	return cfg, nil
}

// loadTrackConfig loads and validates the configuration for the track
// commands. They run no job, so no job's provider credentials are required:
// every job is validated as disabled. hashKey: the command needs
// SYNCER_HASH_KEY.
func loadTrackConfig(e env, path string, hashKey bool) (config.Config, error) {
	cfg, err := loadAdjusted(e, path, func(c *config.Config) {
		for n, j := range c.Jobs {
			j.Enabled = false
			c.Jobs[n] = j
		}
	})
	if err != nil {
		return cfg, err
	}
	if hashKey {
		if err := cfg.RequireHashKey(); err != nil {
			return cfg, usageError{err.Error()}
		}
	}
	return cfg, nil
}

// openTrack loads the configuration (with SYNCER_HASH_KEY when needed) and
// connects to the database.
func openTrack(ctx context.Context, e env, path string, hashKey bool) (*app, error) {
	cfg, err := loadTrackConfig(e, path, hashKey)
	if err != nil {
		return nil, err
	}
	return openApp(ctx, e, cfg)
}

// openForDatabase opens the database for a command that touches no
// provider (migrate, views, gaps): jobs are treated as disabled while the
// configuration is validated, so a newcomer needs no provider credentials
// to create the schema.
func openForDatabase(ctx context.Context, e env, path string) (*app, error) {
	cfg, err := loadAdjusted(e, path, func(c *config.Config) {
		for n, j := range c.Jobs {
			j.Enabled = false
			c.Jobs[n] = j
		}
	})
	if err != nil {
		return nil, err
	}
	return openApp(ctx, e, cfg)
}

// openForReading opens the database for a command that reads it and the
// configured schedules (jobs, gaps, check): no provider credentials are
// needed, and each job keeps its configured enabled flag.
func openForReading(ctx context.Context, e env, path string) (*app, error) {
	if path == "" {
		path = lookupEnv(e.environ, config.EnvConfigFile)
	}
	cfg, err := config.LoadEnviron(path, e.environ)
	if err != nil {
		return nil, usageError{err.Error()}
	}
	if err := cfg.ValidateForReading(); err != nil {
		return nil, usageError{"invalid configuration:\n  " + strings.ReplaceAll(err.Error(), "\n", "\n  ")}
	}
	return openApp(ctx, e, cfg)
}

// loadAndOpen is loadConfig then openApp: what most commands start with.
func loadAndOpen(ctx context.Context, e env, path string, enable ...string) (*app, error) {
	cfg, err := loadConfig(e, path, enable...)
	if err != nil {
		return nil, err
	}
	return openApp(ctx, e, cfg)
}

func openApp(ctx context.Context, e env, cfg config.Config) (*app, error) {
	return openAppForJobs(ctx, e, cfg, 0)
}

// openAppForJobs is openApp for a process that may run n jobs at once:
// the pool is sized (or an explicit size checked) for them.
func openAppForJobs(ctx context.Context, e env, cfg config.Config, n int) (*app, error) {
	log := newLogger(e.stderr, cfg.LogLevel, cfg.LogFormat)
	db, err := store.OpenForJobs(ctx, cfg.DatabaseURL.Value(), n)
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
