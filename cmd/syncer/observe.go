package main

import (
	"context"
	"sync/atomic"
	"time"

	"syncer/internal/config"
	"syncer/internal/jobs"
	"syncer/internal/observe"
	"syncer/internal/store"
)

// observer is the daemon's HTTP side: metrics, health and the status page.
type observer struct {
	metrics *observe.Metrics
	health  *observe.Health
	sched   atomic.Pointer[jobs.Scheduler]
}

// startObserver wires the metrics into the provider plumbing and the
// runner, and serves SYNCER_HTTP_ADDR until ctx ends. It listens before
// anything is written, so a taken port fails the start cleanly.
func (a *app) startObserver(ctx context.Context) (*observer, error) {
	o := &observer{}
	o.metrics = observe.NewMetrics(observe.MetricsOptions{
		Providers: map[string]string{
			a.cfg.MGID.BaseURL:        "mgid",
			a.cfg.Gmedia.TokenURL:     "gmedia",
			a.cfg.Gmedia.CheckURL:     "gmedia",
			a.cfg.Firstlight.URL:      "firstlight",
			a.cfg.Firstlight.TokenURL: "firstlight",
		},
		TrackedJobs: config.TrackedJobs(),
	})
	// The page and /metrics read through a pool of their own, behind a
	// cache: no number of viewers or scrapers can take a connection a job
	// needs, and they cost the database one read of each kind per TTL.
	obsDB, err := store.OpenSmall(ctx, a.cfg.DatabaseURL.Value(), observe.PoolConns)
	if err != nil {
		return nil, err
	}
	go func() { <-ctx.Done(); obsDB.Close() }()
	cached := &observe.CachedStore{Store: obsDB}
	var specs []observe.JobSpec
	for _, n := range config.JobNames {
		j := a.cfg.Jobs[n]
		specs = append(specs, observe.JobSpec{Name: n, Schedule: j.Schedule, Enabled: j.Enabled})
	}
	o.metrics.Registry.MustRegister(&observe.DBCollector{Store: cached, Pool: a.db.Stat, Log: a.log},
		&observe.OperatorCollector{Store: cached, Jobs: specs, Log: a.log})
	a.providers = o.metrics
	a.runner.Observer = o.metrics
	a.agencies = observe.NewAgencyMetrics(o.metrics.Registry)
	// The agency and replica-guard readings go through the observer's pool
	// too (not cached: each is one small query per scrape).
	o.metrics.Registry.MustRegister(&observe.AgencyCollector{Store: obsDB, Log: a.log},
		&observe.ReplicaGuardCollector{Store: obsDB, Log: a.log})

	want, err := store.BinaryMigrationVersion()
	if err != nil {
		return nil, err
	}
	o.health = &observe.Health{DB: obsDB, WantVersion: want}
	if !a.cfg.HTTPEnabled() {
		a.log.Info("http disabled (SYNCER_HTTP_ADDR=off): no /metrics, health checks or status page")
		return o, nil
	}
	page := &observe.Page{
		Store: cached, Health: o.health, Jobs: specs, Location: a.cfg.MGID.Location,
		Version: observe.Version(), Log: a.log, Replication: obsDB,
		Next: func(now time.Time) map[string]time.Time {
			if s := o.sched.Load(); s != nil {
				return s.Next(now)
			}
			return nil
		},
		Agencies: obsDB,
	}
	if _, _, err := observe.Serve(ctx, a.cfg.HTTPAddr, observe.Handler(o.metrics, o.health, page), a.log); err != nil {
		return nil, usagef("SYNCER_HTTP_ADDR %s: %v", a.cfg.HTTPAddr, err)
	}
	return o, nil
}

// scheduling tells the observer the scheduler is running: next runs for the
// page, and the heartbeat for /healthz.
func (o *observer) scheduling(s *jobs.Scheduler) {
	o.sched.Store(s)
	s.Heartbeat(observe.HeartbeatEvery, o.health.Beat)
}
