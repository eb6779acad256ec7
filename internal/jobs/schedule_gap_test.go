package jobs_test

import (
	"testing"
	"time"

	"syncer/internal/jobs"
)

func TestLongestGap(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 30, 4, 0, 0, 0, time.UTC) // a Monday
	for _, c := range []struct {
		spec string
		want time.Duration
	}{
		{"@every 15m", 15 * time.Minute},
		{"0 * * * *", time.Hour},
		{"*/10 * * * *", 10 * time.Minute},
		{"@daily", 24 * time.Hour},
		{"0 9 * * 1-5", 72 * time.Hour}, // Friday to Monday
		{"0 6,18 * * *", 12 * time.Hour},
		{"0 0 1 * *", 31 * 24 * time.Hour},
	} {
		t.Run(c.spec, func(t *testing.T) {
			got, err := jobs.LongestGap(c.spec, now)
			if err != nil || got != c.want {
				t.Errorf("LongestGap(%q) = %s, %v; want %s", c.spec, got, err, c.want)
			}
		})
	}
	if _, err := jobs.LongestGap("every minute", now); err == nil {
		t.Error("a bad schedule was accepted")
	}
}
