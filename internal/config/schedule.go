package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// CheckSchedule parses a job's schedule as the scheduler will, and refuses
// what cron would quietly bend: robfig/cron turns "@every 0s", "@every -5s"
// and "@every 300ms" into a tick every second, so a typo would hammer the
// provider once a second. A 5-field expression cannot fire more often than
// once a minute, so only @every needs the check.
func CheckSchedule(spec string) error {
	if _, err := cron.ParseStandard(spec); err != nil {
		return err
	}
	if rest, ok := strings.CutPrefix(spec, "@every "); ok {
		d, err := time.ParseDuration(strings.TrimSpace(rest))
		if err != nil {
			return err
		}
		switch {
		case d <= 0:
			return fmt.Errorf("the interval must be positive, got %s", d)
		case d < time.Second:
			return fmt.Errorf("fires more often than once a second (%s); the shortest interval is 1s", d)
		}
	}
	return nil
}
