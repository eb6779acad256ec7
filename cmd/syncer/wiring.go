package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"sort"

	"syncer/internal/config"
	"syncer/internal/jobs"
	"syncer/internal/observe"
	"syncer/internal/providers"
	"syncer/internal/providers/mgid"
	"syncer/internal/store"
)

// app is everything a command wires from the configuration.
type app struct {
	cfg    config.Config
	log    *slog.Logger
	db     *store.DB
	runner *jobs.Runner
	mgid   []*mgid.Client
	// agencies hears each agency's outcome and the ticks that overran (the
	// metrics of `run`); nil elsewhere.
	agencies *observe.AgencyMetrics
	// providers hears every provider request and retry (the metrics of
	// `run`), through the clients' transports; nil elsewhere.
	providers providers.Observer
}

// httpClient is hc observed by a.providers: every provider client is built
// with one.
func (a *app) httpClient(hc *http.Client) *http.Client {
	if a.providers == nil {
		return hc
	}
	return providers.Observed(hc, a.providers)
}

func (a *app) close() { a.db.Close() }

// agencyObserver is a.agencies as a jobs.AgencyObserver: nil (not a nil
// pointer in an interface) when no metrics are wired.
func (a *app) agencyObserver() jobs.AgencyObserver {
	if a.agencies == nil {
		return nil
	}
	return a.agencies
}

// buildJobs constructs the named jobs (all enabled ones when names is empty).
// Explicit wiring: every job and its dependencies are visible here.
func (a *app) buildJobs(names ...string) (map[string]jobs.Job, error) {
	if len(names) == 0 {
		for _, n := range config.JobNames {
			if a.cfg.Jobs[n].Enabled {
				names = append(names, n)
			}
		}
	}
	out := map[string]jobs.Job{}
	for _, n := range names {
		build, ok := jobBuilders[n]
		if !ok {
			return nil, fmt.Errorf("no job named %s", n)
		}
		j, err := build(a)
		if err != nil {
			return nil, err
		}
		out[n] = j
	}
	return out, nil
}

// jobBuilders binds each job in config.Registry to its constructor (config
// may not import the jobs it describes); a test keeps the two in step.
var jobBuilders = map[string]func(*app) (jobs.Job, error){
	config.JobMGIDBalances: func(a *app) (jobs.Job, error) {
		j := &jobs.MGIDBalances{DB: a.db, Location: a.cfg.MGID.Location, Parallel: a.cfg.MGID.AgencyConcurrency, Observer: a.agencyObserver()}
		for _, c := range a.mgidClients() {
			j.Agencies = append(j.Agencies, c)
		}
		return j, nil
	},
	config.JobMGIDSpend: func(a *app) (jobs.Job, error) {
		j := &jobs.MGIDSpend{DB: a.db, Location: a.cfg.MGID.Location, LookbackDays: a.cfg.MGID.LookbackDays,
			AgencyParallel: a.cfg.MGID.AgencyConcurrency, Observer: a.agencyObserver()}
		for _, c := range a.mgidClients() {
			j.Agencies = append(j.Agencies, c)
		}
		return j, nil
	},
	config.JobMGIDTopUp:        (*app).buildTopUpJob,
	config.JobMawthoqRecheck:   (*app).buildMawthoqJob,
	config.JobFirstlightRedeem: (*app).buildFirstlightJob,
	config.JobMGIDRetention: func(a *app) (jobs.Job, error) {
		return &jobs.MGIDRetention{DB: a.db, DetailDays: a.cfg.RetentionDetailDays}, nil
	},
}

// mgidClients makes one client per agency, once, so jobs share their tokens.
func (a *app) mgidClients() []*mgid.Client {
	if a.mgid == nil {
		hc := a.httpClient(&http.Client{Timeout: a.cfg.MGID.RequestTimeout})
		for _, ag := range a.cfg.MGID.Agencies {
			a.mgid = append(a.mgid, mgid.New(a.cfg.MGID.BaseURL, ag.Login, ag.Password.Value(),
				mgid.WithHTTPClient(hc), mgid.WithName(ag.Name), mgid.WithLogger(a.log.With("agency", ag.Name))))
		}
	}
	return a.mgid
}

func checkJobNames(names []string) error {
	known := map[string]bool{}
	for _, n := range config.JobNames {
		known[n] = true
	}
	for _, n := range names {
		if !known[n] {
			all := append([]string(nil), config.JobNames...)
			sort.Strings(all)
			return usagef("unknown job %q (jobs: %v)", n, all)
		}
	}
	return nil
}
