package jobs_test

import (
	"testing"
	"time"

	"syncer/internal/jobs"
)

// The top-up plans only from a snapshot younger than two balances periods.
func TestSnapshotAgeFor(t *testing.T) {
	now := time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)
	for spec, want := range map[string]time.Duration{
		"@every 15m": 30 * time.Minute,
		"0 * * * *":  2 * time.Hour,
		"not cron":   0,
	} {
		if got := jobs.SnapshotAgeFor(spec, now); got != want {
			t.Errorf("SnapshotAgeFor(%q) = %s, want %s", spec, got, want)
		}
	}
}
