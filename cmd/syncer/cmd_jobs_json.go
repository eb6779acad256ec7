package main

import (
	"encoding/json"
	"time"

	"syncer/internal/config"
	"syncer/internal/jobs"
	"syncer/internal/store"
)

// jobJSON is one job of `syncer jobs --json`: the table's columns as
// values a script can compare (RFC 3339 times, seconds, booleans).
type jobJSON struct {
	Job         string     `json:"job"`
	Enabled     bool       `json:"enabled"`
	Schedule    string     `json:"schedule"`
	NextRun     *time.Time `json:"next_run"` // null when disabled
	LastRun     *runJSON   `json:"last_run"` // null when it never ran
	LastDataAt  *time.Time `json:"last_data_at"`
	LastDataAge *float64   `json:"last_data_age_seconds"`
	Stale       bool       `json:"stale"`
	Freshness   *freshJSON `json:"freshness,omitempty"`
}

type runJSON struct {
	RunID      int64      `json:"run_id"`
	Trigger    string     `json:"trigger"`
	Status     string     `json:"status"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at"`
	Rows       int64      `json:"rows"`
	ErrorClass string     `json:"error_class,omitempty"`
	Error      string     `json:"error,omitempty"`
}

type freshJSON struct {
	ExpectedIntervalSeconds float64 `json:"expected_interval_seconds"`
	StaleAfterSeconds       float64 `json:"stale_after_seconds"`
}

func writeJobsJSON(e env, cfg config.Config, now time.Time, last map[string]store.LastRun, fresh map[string]store.SourceFreshness) error {
	out := []jobJSON{}
	for _, n := range config.JobNames {
		j := cfg.Jobs[n]
		f := fresh[n]
		row := jobJSON{Job: n, Enabled: j.Enabled, Schedule: j.Schedule, LastDataAt: f.LastSuccessAt,
			Stale: f.Stale || (f.Job == "" && j.Enabled)}
		if j.Enabled {
			if s, err := jobs.ParseSchedule(j.Schedule); err == nil {
				next := s.Next(now)
				row.NextRun = &next
			}
		}
		if f.LastSuccessAt != nil {
			age := now.Sub(*f.LastSuccessAt).Seconds()
			row.LastDataAge = &age
		}
		if f.Scheduled {
			row.Freshness = &freshJSON{f.ExpectedInterval.Seconds(), f.StaleAfter.Seconds()}
		}
		if r, ok := last[n]; ok {
			row.LastRun = &runJSON{RunID: r.ID, Trigger: r.Trigger, Status: r.Status, StartedAt: r.StartedAt,
				FinishedAt: r.FinishedAt, Rows: r.Rows, ErrorClass: r.ErrorClass, Error: r.Error}
		}
		out = append(out, row)
	}
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(map[string]any{"jobs": out})
}
