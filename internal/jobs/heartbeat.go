package jobs

import (
	"time"

	"github.com/robfig/cron/v3"
)

// Heartbeat calls beat every interval from cron's own loop (and once now),
// so /healthz sees the scheduler itself alive: if the loop stops, so do
// the beats.
func (s *Scheduler) Heartbeat(every time.Duration, beat func(time.Time)) {
	beat(time.Now())
	s.cron.Schedule(cron.Every(every), cron.FuncJob(func() { beat(time.Now()) }))
}
