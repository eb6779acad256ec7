package config

import "time"

// Defaults is the configuration before any file or environment variable is
// applied. Every default lives here and nowhere else.
func Defaults() Config {
	check := func(recheckAfter time.Duration) TrackedCheck {
		return TrackedCheck{
			RecheckAfter: recheckAfter,
			Concurrency:  8,
			RateLimit:    10,
			BatchSize:    100,
			Lease:        5 * time.Minute,
		}
	}
	c := Config{
		AutoMigrate:   true,
		ShutdownGrace: 30 * time.Second,
		LogLevel:      "info",
		HTTPAddr:      "127.0.0.1:9188",
		LogFormat:     "text",
		Jobs:          map[string]Job{},
		Backfill:      Backfill{Concurrency: 4},
		MGID: MGID{
			BaseURL:        "https://api.mgid.com",
			Timezone:       "UTC",
			LookbackDays:   7,
			RequestTimeout: 30 * time.Second,
			// Agencies wait on MGID and on COPY, not on the CPU:
			// a few more than the 2 cores of a small box keep both busy.
			AgencyConcurrency: 4,
		},
		Gmedia: Gmedia{
			CheckMethod:    "POST",
			ClientIDKey:    "client_id",
			RequestTimeout: 15 * time.Second,
			Check:          check(24 * time.Hour),
		},
		Firstlight: Firstlight{
			RequestTimeout: 15 * time.Second,
			Check:          check(time.Hour),
		},
		// Dry run by default: money moves only after an operator has read
		// the journal of what would have been sent and turned it off.
		TopUp: TopUp{DryRun: true, AccountType: "personal"},
		// A standby that streams normally confirms within milliseconds;
		// ten seconds rides out a busy moment without holding a round long.
		Transfer: Transfer{ReplicaTimeout: 10 * time.Second},
	}
	for _, j := range Registry {
		c.Jobs[j.Name] = j.Default
	}
	return c
}
