package main

import (
	"testing"

	"syncer/internal/config"
)

// The pool is opened for the connections the work holds at once: each MGID
// agency in flight is a transaction of its own. (It was sized for one per
// job: with pgx's default of 4 on 2 cores, MGID_AGENCY_CONCURRENCY=12 did
// no more than 4, measured in BENCHMARKS.md.)
func TestPoolNeedsCountAgenciesInFlight(t *testing.T) {
	t.Parallel()
	cfg := config.Defaults()
	for _, name := range config.JobNames {
		j := cfg.Jobs[name]
		j.Enabled = name == config.JobMGIDBalances || name == config.JobMGIDSpend || name == config.JobMGIDRetention
		cfg.Jobs[name] = j
	}
	cfg.MGID.AgencyConcurrency = 12
	cfg.MGID.Agencies = make([]config.MGIDAgency, 20)
	for _, tc := range []struct {
		name        string
		agencies    int
		n           needs
		jobs, conns int
	}{
		{"daemon: two agency jobs of 12 in flight and one other job", 20, needs{daemon: true}, 3, 25},
		{"daemon: fewer agencies than the concurrency", 2, needs{daemon: true}, 3, 5},
		{"once: its jobs run one after another", 20, needs{enable: []string{config.JobMGIDRetention, config.JobMGIDBalances}}, 0, 12},
		{"backfill: its days in flight", 20, needs{enable: []string{config.JobMGIDSpend}, conns: 16}, 0, 16},
		{"a command that runs no job", 20, needs{}, 0, 0},
	} {
		c := cfg
		c.MGID.Agencies = cfg.MGID.Agencies[:tc.agencies]
		if jobs, conns := poolNeeds(c, tc.n); jobs != tc.jobs || conns != tc.conns {
			t.Errorf("%s: poolNeeds = %d jobs, %d connections; want %d, %d", tc.name, jobs, conns, tc.jobs, tc.conns)
		}
	}
}
